"""Driving an equipment model over simulated time, as the building does, for model tests."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from simulators.equipment.base import DeviceEvent, EquipmentModel, MetricValue
from simulators.faults import Fault, active_at


@dataclass
class Run:
    """What a model produced over simulated time: one row per step, and all its events."""

    ts: list[int]
    rows: list[dict[str, MetricValue]]
    events: list[DeviceEvent]

    def series(self, name: str) -> list[float]:
        return [float(row[name]) for row in self.rows]

    def between(self, start_ms: int, end_ms: int) -> list[dict[str, MetricValue]]:
        """Rows of the steps in (start, end]."""
        return [row for ts, row in zip(self.ts, self.rows, strict=True) if start_ms < ts <= end_ms]

    def of_type(self, kind: str) -> list[DeviceEvent]:
        return [event for event in self.events if event.type == kind]

    def at(self, ts_ms: int) -> dict[str, MetricValue]:
        """The row of the last step at or before ts_ms (the first row before the run)."""
        before = [row for ts, row in zip(self.ts, self.rows, strict=True) if ts <= ts_ms]
        return before[-1] if before else self.rows[0]

    def increase(self, name: str, start_ms: int, end_ms: int) -> float:
        """How much a counter grew from start to end, as read at the steps before each."""
        return float(self.at(end_ms)[name]) - float(self.at(start_ms)[name])


@dataclass(frozen=True)
class Sample:
    """One step of a model: its reading at ts_ms, after an interval of dt_s, and its events."""

    ts_ms: int
    dt_s: float
    metrics: dict[str, MetricValue]
    events: list[DeviceEvent]

    def __getitem__(self, name: str) -> float:
        return float(self.metrics[name])


def steps(
    model: EquipmentModel, start_ms: int, end_ms: int, dt_s: float, faults: Sequence[Fault] = ()
) -> list[Sample]:
    """Step a model from start to end, one reading per interval, under `faults`.

    Faults are passed as the building passes them: also those that ended inside the interval.
    """
    found = []
    interval_ms = round(dt_s * 1000)
    ts = start_ms + interval_ms
    while ts <= end_ms:
        step = model.step(ts, dt_s, active_at(faults, ts, ts - interval_ms))
        found.append(Sample(ts, dt_s, step.metrics, step.events))
        ts += interval_ms
    return found


def drive(
    make: Callable[[random.Random], EquipmentModel],
    seed: int,
    start_ms: int,
    end_ms: int,
    dt_s: float,
    faults: Sequence[Fault] = (),
) -> Run:
    """A fresh model from `seed`, stepped from start to end under `faults`, as one Run."""
    samples = steps(make(random.Random(seed)), start_ms, end_ms, dt_s, faults)
    events = [event for sample in samples for event in sample.events]
    return Run([s.ts_ms for s in samples], [s.metrics for s in samples], events)
