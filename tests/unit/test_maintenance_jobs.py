"""The SLA sweep: due-soon and breached orders found, escalation stored once."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from maintenance.desk import Desk
from maintenance.domain import Action, Priority
from maintenance.jobs import sweep_sla
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
