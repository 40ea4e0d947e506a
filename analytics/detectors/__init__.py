"""Anomaly detectors under one contract (detectors/base.py): pure numpy and scikit-learn."""

from analytics.detectors.base import BatchDetector, FloatArray, Observation, StreamingDetector
from analytics.detectors.multivariate import Hysteresis, MewmaShiftDetector, hysteresis_labels
from analytics.detectors.residual import LinearResidual
from analytics.detectors.robust import RobustBaseline
from analytics.detectors.streaming import (
    AlarmShaper,
    NoveltyAlarm,
    NoveltyAlarmParameters,
    NoveltyDetector,
)

__all__ = [
    "AlarmShaper",
    "BatchDetector",
    "FloatArray",
    "Hysteresis",
    "LinearResidual",
    "MewmaShiftDetector",
    "NoveltyAlarm",
    "NoveltyAlarmParameters",
    "NoveltyDetector",
    "Observation",
    "RobustBaseline",
    "StreamingDetector",
    "hysteresis_labels",
]
