"""What people may do with alerts (maintenance/alerting.py), over the in-memory store."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from maintenance.alerting import (
    AlertTransitionRefused,
    acknowledge_alert,
    alert_in_state,
    dismiss_alert,
    open_alerts_by_device,
)
from maintenance.store import AlertRecord, AlertState
from tests.unit.memory_store import MemoryStore

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def alert(state: AlertState = AlertState.OPEN, site: str = "tower-a", device: str = "p-1"):
    return AlertRecord(None, site, "pump", device, "vibration_running:high", "major", T0, T0,
                       state=state)  # fmt: skip


@pytest.mark.parametrize("state", [AlertState.DISMISSED, AlertState.CLEARED])
def test_a_dismissed_or_cleared_alert_cannot_be_acknowledged(state: AlertState) -> None:
    with pytest.raises(AlertTransitionRefused, match=f"is already {state.value}"):
        alert_in_state(replace(alert(state), id=7), AlertState.ACKNOWLEDGED, None)


@pytest.mark.parametrize("state", list(AlertState))
def test_any_alert_can_be_dismissed_with_its_reason(state: AlertState) -> None:
    dismissed = alert_in_state(alert(state), AlertState.DISMISSED, "sensor knocked")
    assert (dismissed.state, dismissed.dismissed_reason) == (AlertState.DISMISSED, "sensor knocked")


def test_acknowledging_and_dismissing_are_stored() -> None:
    store = MemoryStore()
    first, second = store.add_alert(alert()), store.add_alert(alert(device="p-2"))
    assert acknowledge_alert(store, first.id or 0).state is AlertState.ACKNOWLEDGED
    dismiss_alert(store, second.id or 0, "test run")
    assert store.get_alert(second.id or 0).dismissed_reason == "test run"
    with pytest.raises(AlertTransitionRefused):
        acknowledge_alert(store, second.id or 0)


def test_a_change_lost_to_analytics_is_judged_again_on_the_newer_alert() -> None:
    store = MemoryStore()
    stored = store.add_alert(alert())
    store.update_alert(replace(stored, state=AlertState.CLEARED))  # analytics cleared it first
    with pytest.raises(AlertTransitionRefused, match="already cleared"):
        acknowledge_alert(store, stored.id or 0)


def test_open_alerts_are_counted_per_site_and_device() -> None:
    store = MemoryStore()
    for found in (alert(), alert(), alert(device="p-2"), alert(site="tower-b"),
                  alert(AlertState.DISMISSED)):  # fmt: skip
        store.add_alert(found)
    assert open_alerts_by_device(store) == {
        ("tower-a", "p-1"): 2, ("tower-a", "p-2"): 1, ("tower-b", "p-1"): 1
    }  # fmt: skip
    assert open_alerts_by_device(store, "tower-b") == {("tower-b", "p-1"): 1}
