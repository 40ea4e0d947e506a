"""The contract every equipment model follows, and small physics helpers they share.

A model is the true state of one machine: it advances by one reading interval at a time, given
the faults active on it, and returns what its sensors would see before any sensor error (the
sensor layer in simulators/sensors.py adds noise, quantisation, stuck values and dropouts).
Models are pure apart from their own seeded random generator, so a run can be replayed.
"""

from __future__ import annotations

import math
import random
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from facility import EquipmentKind
from simulators.faults import ActiveFault, FaultType

MetricValue = float | bool


@dataclass(frozen=True)
class SensorSpec:
    """How a metric's sensor reads: Gaussian noise (standard deviation) and resolution."""

    noise: float
    resolution: float


@dataclass(frozen=True)
class DeviceEvent:
    """A discrete message a device sends on its event topic, at its own instant."""

    ts_ms: int
    type: str
    attributes: dict[str, float | str | bool] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """What one interval produced: true metric values at its end, and events within it."""

    metrics: dict[str, MetricValue]
    events: list[DeviceEvent] = field(default_factory=list)


class EquipmentModel(ABC):
    """One machine of one kind. Subclasses draw their nameplate values from `rng` in __init__.

    `sensors` names every gauge the model reports with its sensor's noise and resolution;
    counters and states are reported exactly.
    """

    kind: ClassVar[EquipmentKind]
    sensors: ClassVar[dict[str, SensorSpec]]

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    @abstractmethod
    def step(self, ts_ms: int, dt_s: float, faults: Sequence[ActiveFault]) -> Step:
        """Advance from ts_ms - dt_s to ts_ms under `faults`; the readings at ts_ms."""

    def event_time(self, ts_ms: int, dt_s: float) -> int:
        """A uniformly random instant inside the interval that ends at ts_ms."""
        return ts_ms - int(self.rng.random() * dt_s * 1000)


def progress_of(faults: Sequence[ActiveFault], fault: FaultType) -> float:
    """How far `fault` has developed on this device now (0 when it is not active)."""
    return max((f.progress for f in faults if f.type is fault), default=0.0)


def has_failed(faults: Sequence[ActiveFault], fault: FaultType) -> bool:
    """`fault` has reached functional failure and is not yet repaired."""
    return any(f.failed for f in faults if f.type is fault)


def lag(current: float, target: float, dt_s: float, time_constant_s: float) -> float:
    """First-order lag: how a temperature follows its heat input.

    >>> round(lag(20.0, 80.0, 600, 600), 2)  # one time constant closes 63% of the gap
    57.93
    """
    return target + (current - target) * math.exp(-dt_s / time_constant_s)


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth for small means, a rounded normal for large ones)."""
    if mean <= 0:
        return 0
    if mean > 50:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count
