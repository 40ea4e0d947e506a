"""Rules for discrete events and device state: what a fire alarm, a trip or a silence means.

Events need no model: a fire alarm is critical the moment it arrives, a trouble signal is a
fault to fix, a reset ends what it resets. Each rule maps an event to a condition on a fault
signature, so the alert tracker applies the same no-flapping logic as for the detectors.
"""

from __future__ import annotations

from dataclasses import dataclass

from analytics.alerts import Condition, Severity
from facility import DeviceRef, Event, StatusChange

__all__ = ["EventRule", "SilenceWatch", "condition_for_event", "condition_for_status"]


@dataclass(frozen=True)
class EventRule:
    """An event type that raises (or, with `clears`, ends) an alert on `signature`."""

    signature: str
    severity: Severity
    clears: bool = False
    by_reason: bool = False  # one alert per reason: a ground fault is not a flat battery


_RULES: dict[str, EventRule] = {
    "fire_alarm": EventRule("fire_alarm", Severity.CRITICAL),
    "fire_alarm_reset": EventRule("fire_alarm", Severity.CRITICAL, clears=True),
    "fire_trouble": EventRule("fire_trouble", Severity.MAJOR, by_reason=True),
    "fire_trouble_cleared": EventRule("fire_trouble", Severity.MAJOR, clears=True, by_reason=True),
    "supervisory": EventRule("supervisory", Severity.MAJOR),
    "supervisory_cleared": EventRule("supervisory", Severity.MAJOR, clears=True),
    "entrapment": EventRule("entrapment", Severity.CRITICAL),
    "out_of_service": EventRule("out_of_service", Severity.MAJOR),
    "in_service": EventRule("out_of_service", Severity.MAJOR, clears=True),
    "pump_trip": EventRule("pump_trip", Severity.MAJOR),
    "pump_reset": EventRule("pump_trip", Severity.MAJOR, clears=True),
    "gate_jammed": EventRule("gate_jammed", Severity.MAJOR),
    "gate_restored": EventRule("gate_jammed", Severity.MAJOR, clears=True),
    "door_forced": EventRule("door_forced", Severity.MAJOR),
    "held_open": EventRule("held_open", Severity.WARNING),
    "failed_auth_burst": EventRule("failed_auth_burst", Severity.WARNING),
    "mains_failure": EventRule("mains_failure", Severity.WARNING),
    "mains_restored": EventRule("mains_failure", Severity.WARNING, clears=True),
}

# Events that end an entrapment too: the crew freed the passengers and the lift runs again.
_ALSO_CLEARS = {"in_service": "entrapment"}


def condition_for_event(event: Event) -> list[Condition]:
    """The conditions an event sets or ends; none for routine events (tests, heartbeats)."""
    if _is_test(event):
        return []  # a walk test's activations are expected: the panel is in test mode
    if event.type == "battery_test":
        return [_battery_test(event)]
    rule = _RULES.get(event.type)
    if rule is None:
        return []
    signature = _signature(rule, event)
    conditions = [_condition(event, signature, rule)]
    if event.type in _ALSO_CLEARS:
        cleared = EventRule(_ALSO_CLEARS[event.type], Severity.CRITICAL, clears=True)
        conditions.append(_condition(event, cleared.signature, cleared))
    return conditions


def _is_test(event: Event) -> bool:
    return event.type == "fire_alarm" and event.attributes.get("test") in (1.0, "true")


def _signature(rule: EventRule, event: Event) -> str:
    reason = event.attributes.get("reason")
    return f"{rule.signature}:{reason}" if rule.by_reason and reason else rule.signature


def _condition(event: Event, signature: str, rule: EventRule) -> Condition:
    return Condition(
        source=event.source,
        signature=signature,
        ts_ms=event.ts_ms,
        active=not rule.clears,
        severity=rule.severity,
        score=float(rule.severity),
        evidence=() if rule.clears else (_describe(event),),
        immediate=True,
    )


def _describe(event: Event) -> str:
    """The event in words, with its attributes: 'fire_alarm (zone: B2 lobby)'."""
    details = ", ".join(
        f"{k}: {v:g}" if isinstance(v, float) else f"{k}: {v}"
        for k, v in sorted(event.attributes.items())
    )
    return f"{event.type} ({details})" if details else event.type


def _battery_test(event: Event) -> Condition:
    failed = event.attributes.get("result") == "fail"
    return Condition(
        source=event.source,
        signature="battery_test_failed",
        ts_ms=event.ts_ms,
        active=failed,
        severity=Severity.MAJOR,
        score=float(Severity.MAJOR),
        evidence=(_describe(event),) if failed else (),
        immediate=True,
    )


def condition_for_status(change: StatusChange) -> Condition:
    """Offline is a condition like any other: it opens an alert if it lasts (not for a blip)."""
    return Condition(
        source=change.source,
        signature="offline",
        ts_ms=change.ts_ms,
        active=not change.online,
        severity=Severity.MAJOR,
        evidence=("device reported offline (its will message)",),
        immediate=change.online,  # back online: clear at once
    )


class SilenceWatch:
    """Finds devices silent for longer than their own reporting interval allows.

    The expected interval is learned per device (a slow average of the gaps between its
    readings); a device is silent after `tolerance` intervals, and never sooner than
    `min_silence_ms`, so a device reporting every second is not called silent after 3 s.
    """

    def __init__(self, tolerance: float = 5.0, min_silence_ms: int = 5 * 60_000) -> None:
        self.tolerance = tolerance
        self.min_silence_ms = min_silence_ms
        self.last_seen_: dict[DeviceRef, int] = {}
        self.interval_ms_: dict[DeviceRef, float] = {}

    def seen(self, source: DeviceRef, ts_ms: int) -> Condition | None:
        """Note a reading; a condition ending the silence if there was one."""
        last = self.last_seen_.get(source)
        self.last_seen_[source] = max(ts_ms, last or ts_ms)
        if last is None or ts_ms <= last:
            return None
        gap = ts_ms - last
        previous = self.interval_ms_.get(source, float(gap))
        self.interval_ms_[source] = 0.9 * previous + 0.1 * min(gap, 4 * previous)
        return Condition(source, "silent", ts_ms, active=False, immediate=True)

    def devices(self) -> list[DeviceRef]:
        """Every device seen so far, in the order first seen."""
        return list(self.last_seen_)

    def check(self, now_ms: int) -> list[Condition]:
        """Conditions for every device silent too long at now_ms."""
        found = []
        for source, last in self.last_seen_.items():
            allowed = max(self.tolerance * self.interval_ms_.get(source, 0.0), self.min_silence_ms)
            if now_ms - last > allowed:
                silent_min = (now_ms - last) / 60_000
                evidence = (
                    f"no data for {silent_min:.0f} min (expected every "
                    f"{self.interval_ms_.get(source, 0) / 1000:.0f} s)",
                )
                found.append(
                    Condition(source, "silent", now_ms, True, Severity.MAJOR, 1.0, evidence)
                )
        return found
