"""Anomaly detectors under one contract (detectors/base.py): pure numpy and scikit-learn."""

from analytics.detectors.base import BatchDetector, FloatArray, Observation, StreamingDetector

__all__ = ["BatchDetector", "FloatArray", "Observation", "StreamingDetector"]
