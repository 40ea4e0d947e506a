"""Property tests: any sequence of actions, by anyone, keeps a work order's invariants.

Invariants: the history is complete (one entry per accepted action, each starting where the
last ended, ending at the current status); due times never move; the response and resolution
stamps agree with the history; and an alert-born order is closed only after telemetry showed
its condition clear for the verification time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from facility import AlertNotice
from maintenance.desk import Desk, DeskSettings, FixNotVerified
from maintenance.domain import Action, InvalidTransition, Priority, Status, WorkOrder
from maintenance.sla import SlaPolicy
from maintenance.store import VersionConflict
from tests.unit.memory_store import MemoryStore

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
POLICY = SlaPolicy(1, "all", Priority.P2, None, 60, 480)
VERIFY = timedelta(minutes=30)

steps = st.lists(
    st.tuples(
        st.sampled_from([*Action, "clear", "recur"]),  # people's actions and telemetry events
        st.integers(min_value=1, max_value=120),  # minutes since the previous step
        st.booleans(),  # act on a stale version?
    ),
    max_size=25,
)


def check_invariants(
    order: WorkOrder, accepted: int, opened: WorkOrder, clears: list[datetime]
) -> None:
    history = order.history
    assert len(history) == accepted
    assert [h.to_status for h in history[:-1]] == [h.from_status for h in history[1:]]
    assert (history[-1].to_status if history else Status.OPEN) is order.status
    assert (order.response_due, order.resolve_due) == (opened.response_due, opened.resolve_due)
    assert opened.response_due is not None and opened.resolve_due is not None
    assert opened.response_due <= opened.resolve_due
    responded = [h for h in history if h.action in ("acknowledge", "start")]
    assert (order.acknowledged_at is None) == (not responded)
    assert (order.resolved_at is not None) == (order.status in (Status.RESOLVED, Status.CLOSED))
    if order.status is Status.CLOSED:
        closed_at = history[-1].at
        assert any(closed_at - c >= VERIFY for c in clears), "closed without a verified fix"


@settings(max_examples=150, deadline=None)
@given(steps)
def test_any_sequence_of_actions_keeps_the_invariants(
    sequence: list[tuple[str, int, bool]],
) -> None:
    store, now = MemoryStore(), [T0]
    desk = Desk(store, lambda: [POLICY], lambda: now[0], DeskSettings(verify_clear=VERIFY))
    alert = AlertNotice("raised", "s", "pump", "p-1", "seal_leak", "major", T0, ("leak",))
    order_id = desk.handle(alert).work_order_id or 0
    opened = store.get_order(order_id)
    accepted, clears, live = 0, [], True
    for step, minutes, stale in sequence:
        now[0] += timedelta(minutes=minutes)
        if step in ("clear", "recur"):
            if (step == "clear") == live:
                desk.handle(AlertNotice("cleared" if live else "raised", "s", "pump", "p-1",
                                        "seal_leak", "major", now[0], ("leak",)))  # fmt: skip
                live = not live
                clears += [] if live else [now[0]]
            continue
        before = store.get_order(order_id)
        version = before.version - 1 if stale else before.version
        try:
            desk.act(order_id, Action(step), "someone", version=version)
        except (InvalidTransition, FixNotVerified, VersionConflict):
            assert store.get_order(order_id) == before  # a refusal changes nothing
            continue
        accepted += 1
    final = store.get_order(order_id)
    reopened_by_telemetry = sum(1 for h in final.history if h.actor == "telemetry")
    check_invariants(final, accepted + reopened_by_telemetry, opened, clears)
