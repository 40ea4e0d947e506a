"""The one detector contract every detector follows (see ../shared/DESIGN.md, "One detector
contract").

Streaming detectors see one observation at a time: `score_one(x)` says how anomalous x is given
what was learned so far (finite even before anything was learned), then `learn_one(x)` folds it
in. Batch models learn from a matrix and score a matrix. In both, higher means more anomalous
(unlike scikit-learn's `score_samples`, where higher means more normal), hyper-parameters are
set only in `__init__`, learned state has a trailing underscore, and nothing does I/O.
"""

from __future__ import annotations

from typing import Protocol, Self, runtime_checkable

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
Observation = float | FloatArray


@runtime_checkable
class StreamingDetector(Protocol):
    """Scores then learns one observation (a number or a vector of metrics) at a time."""

    def learn_one(self, x: Observation) -> None: ...

    def score_one(self, x: Observation) -> float: ...


@runtime_checkable
class BatchDetector(Protocol):
    """Learns from rows of healthy data, then scores rows; NaN marks a missing value."""

    def fit(self, X: FloatArray) -> Self: ...

    def score_samples(self, X: FloatArray) -> FloatArray: ...
