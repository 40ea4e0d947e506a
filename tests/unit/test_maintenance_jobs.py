"""The SLA sweep: due-soon and breached orders found, escalation stored once."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from maintenance.desk import Desk
from maintenance.domain import Action, Priority
from maintenance.jobs import generate_pm_orders, sweep_sla
from maintenance.pm import EveryDays, PmPlan
from maintenance.sla import SlaPolicy
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
