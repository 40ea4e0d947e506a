"""Scoring alerts against a simulated fleet's ground truth: recall, lead time, false alerts.

A degradation counts as caught when an alert that fits it (EXPECTED: a seal leak is explained
by low flow per ampere, not by a door alert) is raised on its device between the fault's onset
and its functional failure; its lead time is failure minus that first alert. Every alert is
then explained by the truth or counted as false: it is true when it fits a fault of its device
and falls between the fault's onset and its repair (plus a grace period), or is an offline or
silence alert during an outage, or comes within an hour of an event the device really sent;
otherwise it is a false alert, the kind that teaches crews to ignore the system.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["EXPECTED", "FleetScore", "RaisedAlert", "fits", "score_fleet"]

DAY_MS = 86_400_000
HOUR_MS = 3_600_000

# Which alert signatures (by prefix) a fault explains; the fault names are the simulators'.
EXPECTED: dict[str, tuple[str, ...]] = {
    "pump_bearing_wear": ("vibration_running", "pump_trip"),
    "cavitation": ("suction_pressure", "head", "flow_per_amp", "vibration_running"),
    "seal_leak": ("flow_per_amp",),
    "impeller_clogging": ("head", "flow_per_amp", "vibration_running", "motor_temp_per_amp"),
    "motor_overheating": ("motor_temp_per_amp", "pump_trip"),
    "dry_running": ("flow_per_amp", "head", "suction_pressure", "vibration_running", "pump_trip",
                    "motor_temp_per_amp"),
    "door_operator_wear": ("door_close_time", "door_current", "out_of_service"),
    "hoist_bearing_wear": ("vibration_moving", "hoist_current_for_load", "out_of_service"),
    "leveling_drift": ("leveling_error", "out_of_service"),
    "entrapment": ("entrapment", "out_of_service", "leveling_error"),
    "battery_ageing": ("battery_float", "charger_current", "charger_current_for_voltage",
                       "battery_under_load", "battery_test_failed", "fire_trouble"),
    "detector_contamination": ("detector_drift", "fire_trouble"),
    "ground_fault": ("fire_trouble",),
    "trouble_signal": ("fire_trouble",),
    "fire_alarm": ("fire_alarm",),
    "test_mode": (),
    "motor_binding": ("open_time", "gate_current", "gate_current_for_stroke", "gate_jammed"),
    "failed_auth_burst": ("failed_auth_burst",),
    "forced_opening": ("door_forced",),
    "held_open": ("held_open",),
}  # fmt: skip


def fits(fault: str, signature: str) -> bool:
    """The alert signature is one the fault explains."""
    return signature.split(":")[0] in EXPECTED.get(fault, ())


@dataclass(frozen=True)
class RaisedAlert:
    device: str
    signature: str
    raised_ms: int


@dataclass(frozen=True)
class FleetScore:
    degradations: int
    caught: int
    alerts: int
    false_alerts: int
    device_days: float
    median_lead_days: float | None

    @property
    def recall(self) -> float:
        return self.caught / self.degradations if self.degradations else 1.0

    @property
    def precision(self) -> float:
        return (self.alerts - self.false_alerts) / self.alerts if self.alerts else 1.0

    @property
    def false_per_device_day(self) -> float:
        return self.false_alerts / self.device_days if self.device_days else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "degradations": self.degradations,
            "caught": self.caught,
            "recall": round(self.recall, 3),
            "median_lead_days": None
            if self.median_lead_days is None
            else round(self.median_lead_days, 2),
            "alerts": self.alerts,
            "false_alerts": self.false_alerts,
            "precision": round(self.precision, 3),
            "false_alerts_per_device_day": round(self.false_per_device_day, 4),
            "device_days": round(self.device_days, 1),
        }


def score_fleet(
    labels: Sequence[dict[str, Any]], alerts: Sequence[RaisedAlert], grace_ms: int = 2 * HOUR_MS
) -> FleetScore:
    """Score the alerts a detector raised on a simulated run against the run's labels."""
    run = next(label for label in labels if label["label"] == "run")
    end = next((lb["end_ms"] for lb in labels if lb["label"] == "end"), run["end_ms"])
    device_days = len(run["devices"]) * (end - run["start_ms"]) / DAY_MS
    faults = [lb for lb in labels if lb["label"] == "fault"]
    degradations = [
        f for f in faults if f["gradual"] and f["equipment_fault"] and f["failure_ms"] <= end
    ]
    leads = [lead for f in degradations if (lead := _lead_ms(f, alerts)) is not None]
    false_alerts = [a for a in alerts if not _explained(a, labels, grace_ms)]
    return FleetScore(
        degradations=len(degradations),
        caught=len(leads),
        alerts=len(alerts),
        false_alerts=len(false_alerts),
        device_days=device_days,
        median_lead_days=statistics.median(leads) / DAY_MS if leads else None,
    )


def _lead_ms(fault: dict[str, Any], alerts: Sequence[RaisedAlert]) -> int | None:
    raised = [
        a.raised_ms
        for a in alerts
        if a.device == fault["device"]
        and fault["onset_ms"] <= a.raised_ms <= fault["failure_ms"]
        and fits(fault["fault"], a.signature)
    ]
    return fault["failure_ms"] - min(raised) if raised else None


def _explained(alert: RaisedAlert, labels: Sequence[dict[str, Any]], grace_ms: int) -> bool:
    return any(
        label.get("device") == alert.device and _explains(label, alert, grace_ms)
        for label in labels
    )


def _explains(label: dict[str, Any], alert: RaisedAlert, grace_ms: int) -> bool:
    at = alert.raised_ms
    if label["label"] == "fault":
        during = label["onset_ms"] <= at <= label["repaired_ms"] + grace_ms
        return during and fits(label["fault"], alert.signature)
    if label["label"] == "offline":
        during = label["start_ms"] <= at <= label["end_ms"] + grace_ms
        return during and alert.signature in ("offline", "silent")
    if label["label"] == "event":
        return bool(abs(at - label["ts"]) <= HOUR_MS)
    return False
