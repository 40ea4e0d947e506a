"""What sensors do to the truth: noise, quantisation, dropouts, stuck values and spikes.

Real telemetry is never the clean physics a model computes. Each gauge gets Gaussian noise and
is rounded to its sensor's resolution; now and then a value is missing from a reading, a sensor
freezes on its last value for a while, or a single reading spikes. Stuck values and spikes are
sensor faults, not equipment faults, so they are reported as incidents for the labels file: a
detector that flags them is right to, and a scorer must not count them as equipment faults.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from facility import CATALOGUE, EquipmentKind
from simulators.equipment.base import MetricValue, SensorSpec

__all__ = ["SensorIncident", "SensorRealism", "Sensors", "quantise"]


@dataclass(frozen=True)
class SensorRealism:
    """How often sensors misbehave, per reading; all zero gives clean, quantised values."""

    dropout: float = 0.002  # a metric is missing from a reading
    stuck: float = 0.0002  # a gauge freezes on its last value...
    stuck_readings: tuple[int, int] = (20, 240)  # ...for this many readings
    spike: float = 0.0003  # a gauge reads a wild value once

    @classmethod
    def clean(cls) -> SensorRealism:
        """Noise and quantisation only: for tests that want the physics, not the sensor."""
        return cls(dropout=0.0, stuck=0.0, spike=0.0)


@dataclass(frozen=True)
class SensorIncident:
    """A sensor fault for the labels: `stuck` from ts_ms for `readings` readings, or a `spike`."""

    type: str
    metric: str
    ts_ms: int
    readings: int = 1


def quantise(value: float, resolution: float) -> float:
    """Round to the sensor's resolution, keeping the decimal text short.

    >>> quantise(3.14159, 0.05)
    3.15
    """
    if resolution <= 0:
        return value
    steps = round(value / resolution)
    decimals = max(0, len(f"{resolution:.10f}".rstrip("0").split(".")[1]))
    return round(steps * resolution, decimals)


class Sensors:
    """The sensors of one device: they read a model's true values as the device would report."""

    def __init__(
        self,
        kind: EquipmentKind,
        specs: dict[str, SensorSpec],
        rng: random.Random,
        realism: SensorRealism,
    ) -> None:
        self.catalogue = CATALOGUE[kind]
        self.specs = specs
        self.rng = rng
        self.realism = realism
        self._last: dict[str, float] = {}
        self._stuck_left: dict[str, int] = {}

    def read(
        self, ts_ms: int, truth: dict[str, MetricValue]
    ) -> tuple[dict[str, MetricValue], list[SensorIncident]]:
        """The reported metrics for one reading, and any sensor incident that began in it."""
        reported: dict[str, MetricValue] = {}
        incidents: list[SensorIncident] = []
        for name, value in truth.items():
            if self.rng.random() < self.realism.dropout:
                continue
            if isinstance(value, bool) or name not in self.specs:
                reported[name] = _exact(value)
                continue
            reported[name] = self._gauge(ts_ms, name, value, incidents)
        return reported, incidents

    def _gauge(self, ts_ms: int, name: str, value: float, incidents: list[SensorIncident]) -> float:
        if self._stuck_left.get(name, 0) > 0:
            self._stuck_left[name] -= 1
            return self._last[name]
        if name in self._last and self.rng.random() < self.realism.stuck:
            readings = self.rng.randint(*self.realism.stuck_readings)
            self._stuck_left[name] = readings - 1
            incidents.append(SensorIncident("stuck", name, ts_ms, readings))
            return self._last[name]
        spec = self.specs[name]
        noisy = value + self.rng.gauss(0.0, spec.noise)
        if self.rng.random() < self.realism.spike:
            noisy = value * self.rng.uniform(2.5, 6.0) + 10 * spec.noise
            incidents.append(SensorIncident("spike", name, ts_ms))
        catalogue = self.catalogue[name]
        reading = quantise(min(max(noisy, catalogue.minimum), catalogue.maximum), spec.resolution)
        self._last[name] = reading
        return reading


def _exact(value: MetricValue) -> MetricValue:
    """States stay booleans; whole counts are sent as integers, as device firmware does."""
    if isinstance(value, bool):
        return value
    return int(value) if float(value).is_integer() else round(value, 3)
