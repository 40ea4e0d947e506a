"""The streaming analytics engine: records in, alert changes (facility.AlertNotice) out (pure,
no I/O).

Readings become health features (analytics/features.py); each feature of each device has a
robust baseline learned from the device's own history, and a reading's signed deviation from
it, in robust standard deviations, is smoothed by a running median over the last few readings
(a spike cannot raise an alert) and passed through hysteresis (enter above one level, leave
below a lower one). Events and status go through the rules. The alert tracker then applies
minimum durations and clearing times, so what leaves here is what a crew should see.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from analytics.alerts import AlertPolicy, AlertTracker, Condition, Severity
from analytics.detectors.residual import LinearResidual
from analytics.detectors.robust import RobustBaseline
from analytics.features import (
    EVENT_FEATURES,
    FEATURES,
    LOOK_AT,
    RESIDUALS,
    SETTLING,
    Feature,
    Residual,
    features_of,
)
from analytics.rules import SilenceWatch, condition_for_event, condition_for_status
from facility import AlertNotice, DeviceRef, Event, Reading, Record, StatusChange

__all__ = ["Engine", "EngineSettings"]


@dataclass(frozen=True)
class EngineSettings:
    """Detection thresholds (robust SDs), smoothing and learning; one set for every device."""

    enter: float = 5.0
    leave: float = 3.0
    major: float = 10.0
    window: int = 15  # readings in the running median of deviations
    warmup: int = 120  # readings learned before a feature is judged
    # ...and at least this long (by the readings' own times) since a feature's first reading,
    # so a device's daily rhythm is known before deviations from it count. Absolute limits
    # are judged from the first reading. `facmon analytics` sets a day.
    warmup_s: float = 0.0
    learn_rate: float = 1e-4  # after warmup: a long memory, so slow wear is not learned away
    learn_below: float = 3.0
    policy: AlertPolicy = field(default_factory=AlertPolicy)


@dataclass
class _FeatureState:
    """One feature of one device: its baseline slot, recent deviations and hysteresis state."""

    slot: int
    feature: Feature | Residual
    recent: deque[float]
    active: bool = False
    model: LinearResidual | None = None
    since_ms: int | None = None  # the first reading learned: the start of the time warm-up

    @property
    def limit(self) -> float | None:
        return self.feature.limit if isinstance(self.feature, Feature) else None


class Engine:
    """Feed it records in time order; it returns the alert changes they cause."""

    def __init__(self, settings: EngineSettings = EngineSettings()) -> None:
        self.settings = settings
        self.baseline = RobustBaseline(
            alpha=settings.learn_rate,
            learn_below=settings.learn_below,
            warmup=settings.warmup,
        )
        # Values reported in events come once a day or so: a short warm-up, a steadier memory.
        self.event_baseline = RobustBaseline(alpha=0.05, learn_below=settings.learn_below, warmup=5)
        self.tracker = AlertTracker(settings.policy)
        self.silence = SilenceWatch()
        self._states: dict[tuple[DeviceRef, str], _FeatureState] = {}
        self._settling: dict[tuple[DeviceRef, str], int] = {}  # feature quiet until (ms)

    def on_records(self, records: Iterable[Record]) -> list[AlertNotice]:
        return [change for record in records for change in self.on_record(record)]

    def on_record(self, record: Record) -> list[AlertNotice]:
        if isinstance(record, Reading):
            return self.tracker.observe_all(self._reading(record))
        if isinstance(record, Event):
            self._settle_after(record)
            conditions = condition_for_event(record) + self._event_features(record)
            return self.tracker.observe_all(conditions)
        if isinstance(record, StatusChange):
            return self.tracker.observe(condition_for_status(record))
        return []

    def refit(self, source: DeviceRef, history: Iterable[Reading]) -> int:
        """Forget what was learned for one device and learn it again from `history`.

        The scheduler calls this with the device's recent readings, alert periods left out, so
        the baselines follow a machine's healthy changes (a new season, a repair) without ever
        learning a fault. Returns the number of readings learned.
        """
        for (device, _), state in self._states.items():
            if device == source:
                self.baseline.forget(state.slot)
                state.model, state.active, state.since_ms = None, False, None
                state.recent.clear()
        learned = 0
        for reading in history:
            for name, value in features_of(source.kind, reading.metrics).items():
                state = self._state(source, name)
                self.baseline.learn_many(np.array([state.slot]), np.array([value]))
                self._warming(state, reading.ts_ms)
            for residual in RESIDUALS.get(source.kind, ()):
                row = residual.row(reading.metrics)
                if row is not None:
                    state = self._state(source, residual.name, residual, 3 * self.settings.window)
                    state.model = state.model or LinearResidual(warmup=self.settings.warmup)
                    state.model.learn_one(np.array(row))
                    self._warming(state, reading.ts_ms)
            learned += 1
        return learned

    def devices(self) -> list[DeviceRef]:
        """Every device the engine has had a reading from, in the order first seen."""
        return self.silence.devices()

    def tick(self, now_ms: int) -> list[AlertNotice]:
        """Periodic checks that no reading triggers: devices gone silent."""
        return self.tracker.observe_all(self.silence.check(now_ms))

    def _reading(self, reading: Reading) -> list[Condition]:
        conditions = []
        resumed = self.silence.seen(reading.source, reading.ts_ms)
        if resumed is not None:
            conditions.append(resumed)
        for name, value in features_of(reading.source.kind, reading.metrics).items():
            if self._settling_now(reading, name):
                continue
            state = self._state(reading.source, name)
            deviation = self._learned_deviation(self.baseline, state.slot, value)
            if self._warming(state, reading.ts_ms):
                deviation = 0.0
            conditions.append(self._judge(reading.source, reading.ts_ms, state, value, deviation))
        for residual in RESIDUALS.get(reading.source.kind, ()):
            row = residual.row(reading.metrics)
            if row is not None and not self._settling_now(reading, residual.name):
                conditions.append(self._residual(reading, residual, row))
        return conditions

    def _settle_after(self, event: Event) -> None:
        """Features that an event is known to upset stay quiet for a while (SETTLING)."""
        quiet_ms, names = SETTLING.get(event.type, (0, frozenset()))
        for name in names:
            self._settling[(event.source, name)] = event.ts_ms + quiet_ms

    def _settling_now(self, reading: Reading, name: str) -> bool:
        return reading.ts_ms < self._settling.get((reading.source, name), 0)

    def _residual(self, reading: Reading, residual: Residual, row: list[float]) -> Condition:
        # Residuals wander with the operating point: judge them over a longer stretch.
        state = self._state(
            reading.source, residual.name, residual, window=3 * self.settings.window
        )
        model = state.model = state.model or LinearResidual(warmup=self.settings.warmup)
        deviation = model.deviation_one(np.array(row))
        model.learn_one(np.array(row))
        if self._warming(state, reading.ts_ms):
            deviation = 0.0
        return self._judge(reading.source, reading.ts_ms, state, row[0], deviation)

    def _event_features(self, event: Event) -> list[Condition]:
        conditions = []
        for (event_type, attribute), feature in EVENT_FEATURES.items():
            value = event.attributes.get(attribute)
            if event.type == event_type and isinstance(value, float):
                state = self._state(event.source, feature.name, feature, window=3)
                deviation = self._learned_deviation(self.event_baseline, state.slot, value)
                conditions.append(self._judge(event.source, event.ts_ms, state, value, deviation))
        return conditions

    def _warming(self, state: _FeatureState, ts_ms: int) -> bool:
        """Whether the feature is still in its time warm-up (its first reading starts it)."""
        if state.since_ms is None or ts_ms < state.since_ms:
            state.since_ms = ts_ms
        return ts_ms - state.since_ms < self.settings.warmup_s * 1000

    def _learned_deviation(self, baseline: RobustBaseline, slot: int, value: float) -> float:
        slots, values = np.array([slot]), np.array([value])
        deviation = float(baseline.deviation_many(slots, values)[0])
        baseline.learn_many(slots, values)
        return deviation

    def _state(
        self,
        source: DeviceRef,
        name: str,
        feature: Feature | Residual | None = None,
        window: int | None = None,
    ) -> _FeatureState:
        key = (source, name)
        if key not in self._states:
            known = feature or next(f for f in FEATURES[source.kind] if f.name == name)
            recent: deque[float] = deque(maxlen=window or self.settings.window)
            self._states[key] = _FeatureState(len(self._states), known, recent)
        return self._states[key]

    def _judge(
        self, source: DeviceRef, ts_ms: int, state: _FeatureState, value: float, deviation: float
    ) -> Condition:
        """Smooth, apply hysteresis, and say what it means."""
        limit = state.limit
        if limit is not None:  # an absolute limit: judge the value itself
            state.recent.append(value)
            level = float(np.median(state.recent))
            state.active = level >= (0.9 * limit if state.active else limit)
            return self._condition(source, ts_ms, state, value, level / limit * self.settings.enter)
        rises = state.feature.rises_when_failing
        state.recent.append(deviation if rises else -deviation)
        level = float(np.median(state.recent))
        state.active = level >= (self.settings.leave if state.active else self.settings.enter)
        return self._condition(source, ts_ms, state, value, level)

    def _condition(
        self, source: DeviceRef, ts_ms: int, state: _FeatureState, value: float, level: float
    ) -> Condition:
        feature = state.feature
        direction = "high" if feature.rises_when_failing else "low"
        severity = Severity.MAJOR if level >= self.settings.major else Severity.WARNING
        return Condition(
            source=source,
            signature=f"{feature.name}:{direction}",
            ts_ms=ts_ms,
            active=state.active,
            severity=severity,
            score=level,
            evidence=self._evidence(state, value, level) if state.active else (),
        )

    def _evidence(self, state: _FeatureState, value: float, level: float) -> tuple[str, ...]:
        """What is wrong, in words, and where to look."""
        where = LOOK_AT.get(state.feature.name)
        found = self._in_words(state, value, level)
        return (found, f"look at: {where}") if where else (found,)

    def _in_words(self, state: _FeatureState, value: float, level: float) -> str:
        """'vibration while running 2.8× its normal level (6.1 vs 2.2), 9.5 SD above'."""
        feature = state.feature
        if state.limit is not None:
            return f"{feature.label} {value:.3g}, over its limit of {state.limit:g}"
        if state.model is not None:
            side = "short" if not feature.rises_when_failing else "over"
            return (
                f"{feature.label}: {value:.3g} measured, {level:.1f} SD {side} of what it should be"
            )
        baseline = (
            self.event_baseline
            if isinstance(feature, Feature) and feature.name in _EVENT_NAMES
            else self.baseline
        )
        return _in_words(feature, value, float(baseline.location_[state.slot]), level)


_EVENT_NAMES = {feature.name for feature in EVENT_FEATURES.values()}


def _in_words(feature: Feature | Residual, value: float, normal: float, level: float) -> str:
    """'vibration while running 2.8× its normal level (6.1 vs 2.2), 9.5 SD above'."""
    side = "above" if feature.rises_when_failing else "below"
    if normal != 0 and (value / normal) > 0:
        ratio = f"{value / normal:.2g}× its normal level"
    else:
        ratio = "off its normal level"
    return f"{feature.label} {ratio} ({value:.3g} vs {normal:.3g}), {level:.1f} SD {side}"
