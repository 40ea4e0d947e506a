"""Detectors, features and forecasts (pure numpy/scikit-learn); arrives with the detection issue."""

__all__: list[str] = []
