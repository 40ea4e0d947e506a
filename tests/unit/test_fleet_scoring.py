"""Scoring alerts against simulated ground truth, on hand-computed cases."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.scoring.fleet import RaisedAlert, score_fleet

DAY = 86_400_000
RUN = {
    "label": "run",
    "start_ms": 0,
    "end_ms": 10 * DAY,
    "devices": [{"device": "p1"}, {"device": "p2"}],
}


def fault(
    device: str, name: str, onset: float, failure: float, repaired: float, gradual: bool = True
) -> dict[str, Any]:
    return {"label": "fault", "device": device, "fault": name, "gradual": gradual,
            "equipment_fault": True, "onset_ms": int(onset * DAY), "failure_ms": int(failure * DAY),
            "repaired_ms": int(repaired * DAY)}  # fmt: skip


def test_recall_lead_time_and_false_alerts_by_hand() -> None:
    labels = [
        RUN,
        fault("p1", "seal_leak", 2, 6, 6.5),
        fault("p2", "pump_bearing_wear", 1, 9, 9.5),
        {"label": "event", "device": "p2", "type": "pump_trip", "ts": int(9.93 * DAY)},
        {"label": "end", "end_ms": 10 * DAY},
    ]
    alerts = [
        RaisedAlert("p1", "flow_per_amp:low", 4 * DAY),  # fits the leak: caught 2 days ahead
        RaisedAlert("p1", "door_close_time:high", 5 * DAY),  # during the leak, but unrelated
        RaisedAlert("p2", "vibration_running:high", int(0.5 * DAY)),  # before onset: false
        RaisedAlert("p2", "pump_trip", int(9.95 * DAY)),  # explained by the device's event
    ]
    score = score_fleet(labels, alerts)
    assert (score.degradations, score.caught) == (2, 1)
    assert score.recall == 0.5 and score.median_lead_days == pytest.approx(2.0)
    assert (score.alerts, score.false_alerts) == (4, 2)
    assert score.false_per_device_day == pytest.approx(2 / 20)
    assert score.precision == 0.5


def test_faults_failing_after_the_run_are_not_counted_as_missed() -> None:
    labels = [RUN, fault("p1", "seal_leak", 8, 12, 13), {"label": "end", "end_ms": 10 * DAY}]
    assert score_fleet(labels, []).degradations == 0
