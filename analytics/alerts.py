"""Alerts: one per device and fault signature, raised without flapping and cleared when it is over.

Detectors and rules say, reading by reading, whether a condition holds ("vibration high on
pump-02"). The tracker turns that into alerts a crew can act on: an alert opens only after the
condition has held for a minimum duration (or at once for life-safety events), a repeat updates
the open alert instead of opening another, and it clears only after the condition has been clear
for a while. Each change is reported as a facility.AlertNotice, the one message that goes to an
AlertSink (the small interface maintenance/ implements).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Protocol

from facility import AlertNotice, DeviceRef

__all__ = [
    "Alert",
    "AlertPolicy",
    "AlertSink",
    "AlertTracker",
    "Condition",
    "Severity",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Severity(IntEnum):
    """How urgent: CRITICAL is life safety (fire alarm, entrapment), then MAJOR, then WARNING."""

    INFO = 0
    WARNING = 1
    MAJOR = 2
    CRITICAL = 3

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Condition:
    """What a detector or rule found in one observation of one device.

    `active` says whether the condition holds now; `evidence` explains it in an engineer's
    words ("vibration_mm_s 2.8× its normal level"); `score` is the detector's own measure.
    """

    source: DeviceRef
    signature: str
    ts_ms: int
    active: bool
    severity: Severity = Severity.WARNING
    score: float = 0.0
    evidence: tuple[str, ...] = ()
    immediate: bool = False  # raise (or clear) at once: life safety, or an explicit reset


@dataclass(frozen=True)
class Alert:
    """An open or cleared alert on one device for one fault signature: the engine's live
    alert, owned by analytics (maintenance keeps its own record of it, AlertRecord)."""

    source: DeviceRef
    signature: str
    severity: Severity
    started_ms: int
    updated_ms: int
    score: float
    evidence: tuple[str, ...]
    cleared_ms: int | None = None

    @property
    def key(self) -> tuple[DeviceRef, str]:
        return self.source, self.signature

    def notice(self, change: str, at_ms: int) -> AlertNotice:
        """This alert as the alert sink's message: `change` (raised, updated or cleared) at
        `at_ms`, the moment of the change."""
        source = self.source
        return AlertNotice(
            change, source.site, str(source.kind), source.device, self.signature,
            str(self.severity), _EPOCH + timedelta(milliseconds=at_ms), self.evidence, self.score,
        )  # fmt: skip


class AlertSink(Protocol):
    """Where alert changes go: maintenance/ opens and updates work orders from them (facmon
    wires maintenance's Desk, whose `handle` fits this protocol as it is; what `handle`
    returns, the desk's stored record, is not the sender's business and is ignored)."""

    def handle(self, notice: AlertNotice) -> object: ...


@dataclass(frozen=True)
class AlertPolicy:
    """Anti-flapping: how long a condition must hold before an alert opens, and be clear
    before it closes; how often an open alert is updated while the condition goes on."""

    raise_after_ms: int = 10 * 60_000
    clear_after_ms: int = 30 * 60_000
    update_every_ms: int = 15 * 60_000


@dataclass
class _Track:
    """The tracker's memory of one (device, signature)."""

    pending_since: int | None = None
    clear_since: int | None = None
    alert: Alert | None = None
    strongest: Condition | None = None


class AlertTracker:
    """Turns a stream of conditions into raised, updated and cleared alerts (pure, no I/O),
    reported as facility.AlertNotice values. It remembers the alerts it has cleared, whose
    periods refits leave out of a device's healthy history."""

    def __init__(self, policy: AlertPolicy = AlertPolicy()) -> None:
        self.policy = policy
        self._tracks: dict[tuple[DeviceRef, str], _Track] = {}
        self._cleared: list[Alert] = []

    @property
    def open_alerts(self) -> list[Alert]:
        return [t.alert for t in self._tracks.values() if t.alert is not None]

    @property
    def cleared_alerts(self) -> list[Alert]:
        """Every alert cleared so far, in the order cleared (with its start and end)."""
        return list(self._cleared)

    def remember_cleared(self, alerts: Iterable[Alert]) -> None:
        """Take over cleared alerts kept elsewhere, replacing any remembered: engine snapshots
        of format 2 kept them beside the engine, not in the tracker."""
        self._cleared = list(alerts)

    def observe(self, condition: Condition) -> list[AlertNotice]:
        """The alert changes this observation causes (usually none)."""
        track = self._tracks.setdefault((condition.source, condition.signature), _Track())
        if condition.active:
            return self._holds(track, condition)
        return self._clear(track, condition.ts_ms, condition.immediate)

    def observe_all(self, conditions: Sequence[Condition]) -> list[AlertNotice]:
        return [change for c in conditions for change in self.observe(c)]

    def _holds(self, track: _Track, condition: Condition) -> list[AlertNotice]:
        track.clear_since = None
        if track.strongest is None or condition.score >= track.strongest.score:
            track.strongest = condition
        if track.alert is not None:
            return self._update(track, condition)
        if track.pending_since is None:
            track.pending_since = condition.ts_ms
        held_ms = condition.ts_ms - track.pending_since
        if condition.immediate or held_ms >= self.policy.raise_after_ms:
            return [self._raise(track, condition)]
        return []

    def _raise(self, track: _Track, condition: Condition) -> AlertNotice:
        best = track.strongest or condition
        track.alert = Alert(
            source=condition.source,
            signature=condition.signature,
            severity=max(condition.severity, best.severity),
            started_ms=condition.ts_ms if track.pending_since is None else track.pending_since,
            updated_ms=condition.ts_ms,
            score=best.score,
            evidence=best.evidence or condition.evidence,
        )
        return track.alert.notice("raised", condition.ts_ms)

    def _update(self, track: _Track, condition: Condition) -> list[AlertNotice]:
        alert = track.alert
        assert alert is not None
        worse = condition.severity > alert.severity or condition.score > alert.score * 1.25
        due = condition.ts_ms - alert.updated_ms >= self.policy.update_every_ms
        if not (worse or due):
            return []
        track.alert = replace(
            alert,
            severity=max(alert.severity, condition.severity),
            updated_ms=condition.ts_ms,
            score=max(alert.score, condition.score),
            evidence=condition.evidence or alert.evidence,
        )
        return [track.alert.notice("updated", condition.ts_ms)]

    def _clear(self, track: _Track, ts_ms: int, at_once: bool) -> list[AlertNotice]:
        track.pending_since = None
        if track.alert is None:
            track.strongest = None
            return []
        if track.clear_since is None:
            track.clear_since = ts_ms
        if not at_once and ts_ms - track.clear_since < self.policy.clear_after_ms:
            return []
        cleared = replace(track.alert, cleared_ms=ts_ms)
        track.alert, track.strongest, track.clear_since = None, None, None
        self._cleared.append(cleared)
        return [cleared.notice("cleared", ts_ms)]
