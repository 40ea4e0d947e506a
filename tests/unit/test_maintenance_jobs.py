"""The SLA sweep: due-soon and breached orders found, escalation stored once."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from maintenance import read_outlooks
from maintenance.desk import Desk
from maintenance.domain import Action, Priority, WorkOrder
from maintenance.jobs import DeviceOutlook, generate_pm_orders, sweep_sla
from maintenance.pm import EveryDays, EveryUsage, PmPlan, WhenForecast
from maintenance.sla import SlaPolicy
from maintenance.store import VersionConflict
from tests.unit.memory_store import MemoryStore

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
POLICIES = [
    SlaPolicy(id=1, name="P3", priority=Priority.P3, kind=None, response_minutes=60,
              resolve_minutes=480, escalation="raise_priority"),
    SlaPolicy(id=2, name="P2", priority=Priority.P2, kind=None, response_minutes=30,
              resolve_minutes=240, escalation="notify"),
]  # fmt: skip


def test_the_sweep_sorts_orders_and_escalates_a_breach_once() -> None:
    store = MemoryStore()
    clock = {"now": T0}
    desk = Desk(store, lambda: POLICIES, clock=lambda: clock["now"])
    late = desk.open("Gate motor noisy", Priority.P3, "manager")
    soon = desk.open("Lift door slow", Priority.P3, "manager")
    answered = desk.open("Pump leak", Priority.P3, "manager")
    clock["now"] = T0 + timedelta(minutes=10)
    desk.act(answered.id or 0, Action.ACKNOWLEDGE, "crew-1")
    # opened later in effect: its response falls due 10 minutes after the sweep
    store.orders[soon.id or 0] = replace(soon, response_due=T0 + timedelta(minutes=70))
    sweep = sweep_sla(store, POLICIES, T0 + timedelta(minutes=61))
    assert sweep.breached == [late.id] and sweep.due_soon == [soon.id]
    assert sweep.escalated == [late.id]
    assert store.get_order(late.id or 0).priority is Priority.P2  # raised one step
    again = sweep_sla(store, POLICIES, T0 + timedelta(minutes=62))
    assert again.escalated == []  # the same breach is not escalated twice


def test_a_notify_breach_goes_into_the_outbox_once() -> None:
    store = MemoryStore()
    desk = Desk(store, lambda: POLICIES, clock=lambda: T0)
    urgent = desk.open("Pump leak", Priority.P2, "manager")
    sweep = sweep_sla(store, POLICIES, T0 + timedelta(minutes=31))
    (queued,) = store.undelivered_notifications()
    assert sweep.notifications == [queued.text]
    assert queued.work_order_id == urgent.id and "P2 work order" in queued.text
    assert "response target" in queued.text and queued.created_at == T0 + timedelta(minutes=31)
    sweep_sla(store, POLICIES, T0 + timedelta(minutes=32))
    assert len(store.undelivered_notifications()) == 1  # the same breach, not queued again


class ConflictingStore(MemoryStore):
    """Someone else changes every order between the sweep's read and its write."""

    def update_order(self, order: WorkOrder, expected_version: int) -> WorkOrder:
        raise VersionConflict(f"order {order.id} changed meanwhile")


def test_an_escalation_that_loses_a_race_leaves_nothing_in_the_outbox() -> None:
    store = ConflictingStore()
    Desk(store, lambda: POLICIES, clock=lambda: T0).open("Pump leak", Priority.P2, "manager")
    sweep = sweep_sla(store, POLICIES, T0 + timedelta(minutes=31))
    assert sweep.escalated == [] and sweep.notifications == []
    assert store.undelivered_notifications() == []  # the next run escalates and queues it


def test_pm_orders_are_generated_ahead_of_their_due_date_once_and_then_follow_the_service() -> None:
    store = MemoryStore()
    clock = {"now": T0}
    desk = Desk(store, lambda: POLICIES, clock=lambda: clock["now"])
    plan = store.add_pm_plan(PmPlan(None, "Lift half-monthly", "tower-a", "lift-1", "elevator",
                                    "routine items", EveryDays(15)))  # fmt: skip
    (first,) = generate_pm_orders(store, desk, T0, lead_days=7)
    assert first.title == "PM: Lift half-monthly" and first.resolve_due == T0  # never done: due now
    assert generate_pm_orders(store, desk, T0 + timedelta(hours=1), lead_days=7) == []
    clock["now"] = T0 + timedelta(days=1)
    for action in (Action.START, Action.RESOLVE):
        desk.act(first.id or 0, action, "crew-1")
    # the next visit is due 15 days after the service; nothing until 7 days before it
    assert generate_pm_orders(store, desk, T0 + timedelta(days=8), lead_days=7) == []
    (second,) = generate_pm_orders(store, desk, T0 + timedelta(days=9), lead_days=7)
    assert second.resolve_due == T0 + timedelta(days=16)
    assert set(store.pm_orders().values()) == {first.id, second.id}
    assert plan.id is not None


def test_usage_and_condition_plans_follow_the_meters_and_forecasts_of_analytics() -> None:
    store = MemoryStore()
    clock = {"now": T0}
    desk = Desk(store, lambda: POLICIES, clock=lambda: clock["now"])
    door = EveryUsage("trips", 50_000)
    lift = store.add_pm_plan(
        PmPlan(None, "Door operator", "tower-a", "lift-1", "elevator", "", door)
    )
    bearing = WhenForecast("vibration_mm_s", 30)
    pump = store.add_pm_plan(PmPlan(None, "Bearing", "tower-a", "pump-1", "pump", "", bearing))
    assert generate_pm_orders(store, desk, T0, lead_days=14) == []  # no meters or forecasts yet
    crossing = T0 + timedelta(days=10)  # the vibration forecast reaches its limit in 10 days
    outlooks = {
        "tower-a/lift-1": DeviceOutlook(meter="trips", reading=1_000_000, per_day=500.0),
        "tower-a/pump-1": DeviceOutlook(health_metric="vibration_mm_s", crossing=crossing),
    }
    first = {o.device: o for o in generate_pm_orders(store, desk, T0, 14, outlooks)}
    assert first["pump-1"].resolve_due == crossing
    assert first["lift-1"].resolve_due == T0  # never serviced: due now, then counted from there
    clock["now"] = T0 + timedelta(days=1)
    for action in (Action.START, Action.RESOLVE):
        desk.act(first["lift-1"].id or 0, action, "crew-1")
    later = T0 + timedelta(days=96)  # 47,500 trips since the service: 2,500 more take 5 days
    grown = {"tower-a/lift-1": DeviceOutlook(meter="trips", reading=1_047_500, per_day=500.0)}
    (door_order,) = generate_pm_orders(store, desk, later, 14, grown)
    assert door_order.device == "lift-1"
    assert abs((door_order.resolve_due or later) - (later + timedelta(days=5))) < timedelta(hours=1)
    assert {plan_id for plan_id, _ in store.pm_orders()} == {lift.id, pump.id}


def test_the_analytics_forecasts_file_becomes_device_outlooks(tmp_path: Path) -> None:
    path = tmp_path / "forecasts.json"
    assert read_outlooks(path) == {}  # analytics has not written one yet
    crossing_ms = int((T0 + timedelta(days=10)).timestamp() * 1000)
    usage = {"meter": "trips", "reading": 12.0, "per_day": 3.0, "due_at": 50, "due_ms": 1}
    health = {"metric": "door_close_time_s", "crossing_ms": crossing_ms}
    device = {"usage": usage, "health": health}
    path.write_text(json.dumps({"computed_ms": 0, "devices": {"s/lift-1": device}}))
    (outlook,) = read_outlooks(path).values()
    assert outlook == DeviceOutlook(
        "trips", 12.0, 3.0, "door_close_time_s", T0 + timedelta(days=10)
    )
