"""The work-order desk: manual orders, alert-driven orders, maintenance mode, verified closure."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from facility import AlertNotice
from maintenance.desk import Desk, DeskSettings, FixNotVerified, revise_alert
from maintenance.domain import Action, InvalidTransition, Priority, Status
from maintenance.sla import SlaPolicy
from maintenance.store import AlertRecord, AlertState, VersionConflict
from tests.unit.memory_store import MemoryStore

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday morning
P1_POLICY = SlaPolicy(id=1, name="life safety", priority=Priority.P1, kind=None,
                      response_minutes=15, resolve_minutes=240, calendar=None,
                      pause_on_hold=False)  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def desk_with(clock: Clock | None = None) -> tuple[Desk, MemoryStore, Clock]:
    store, clock = MemoryStore(), clock or Clock()
    settings = DeskSettings(verify_clear=timedelta(minutes=30), repeat_window=timedelta(days=7))
    return Desk(store, lambda: [P1_POLICY], clock, settings), store, clock


def notice(change: str, at: datetime, signature: str = "fire_alarm") -> AlertNotice:
    evidence = ("fire_alarm (zone: B2)",)
    return AlertNotice(change, "tower-a", "fire_panel", "fp-1", signature, "critical", at, evidence)


def test_a_manual_order_gets_its_due_times_from_the_policy() -> None:
    desk, _, _ = desk_with()
    order = desk.open("Smoke smell in B2 lobby", Priority.P1, "resident-desk", site="tower-a")
    assert (order.id, order.status) == (1, Status.OPEN)
    assert order.response_due == T0 + timedelta(minutes=15)
    assert order.resolve_due == T0 + timedelta(hours=4)


def test_an_invalid_action_or_a_stale_version_changes_nothing() -> None:
    desk, store, _ = desk_with()
    order = desk.open("Gate sticks", Priority.P1, "manager")
    with pytest.raises(InvalidTransition, match="cannot close a work order that is open"):
        desk.act(order.id or 0, Action.CLOSE, "crew-1")
    started = desk.act(order.id or 0, Action.START, "crew-1", version=order.version)
    with pytest.raises(VersionConflict):
        desk.act(order.id or 0, Action.HOLD, "crew-2", version=order.version)  # saw the old one
    assert store.get_order(order.id or 0) == started
    assert [h.action for h in started.history] == ["start"]


def test_an_alert_opens_one_p1_order_and_repeats_add_evidence() -> None:
    desk, store, _ = desk_with()
    alert = desk.handle(notice("raised", T0))
    order = store.get_order(alert.work_order_id or 0)
    assert (order.priority, order.alert_signature, order.device) == (
        Priority.P1,
        "fire_alarm",
        "fp-1",
    )
    desk.handle(notice("updated", T0 + timedelta(minutes=5)))
    desk.handle(notice("raised", T0 + timedelta(minutes=6)))  # the same condition, still open
    assert len(store.orders) == 1 and len(store.alerts) == 1
    assert [c.author for c in store.comments(order.id or 0)] == ["telemetry", "telemetry"]


def test_alerts_during_work_in_progress_are_expected_and_open_nothing() -> None:
    desk, store, _ = desk_with()
    test = desk.open(
        "Annual fire-system test", Priority.P3, "manager", site="tower-a", device="fp-1"
    )
    desk.act(test.id or 0, Action.START, "crew-1")
    alert = desk.handle(notice("raised", T0))
    assert alert.expected and alert.work_order_id is None
    assert len(store.orders) == 1


def test_a_fix_is_verified_only_after_the_condition_stays_clear() -> None:
    desk, store, clock = desk_with()
    alert = desk.handle(notice("raised", T0))
    order_id = alert.work_order_id or 0
    for action in (Action.START, Action.RESOLVE):
        desk.act(order_id, action, "crew-1")
    desk.handle(notice("cleared", T0 + timedelta(minutes=40)))
    clock.now = T0 + timedelta(minutes=60)
    assert desk.verify_closures() == []  # clear for 20 minutes: not yet
    clock.now = T0 + timedelta(minutes=71)
    (closed,) = desk.verify_closures()
    assert closed.status is Status.CLOSED and closed.history[-1].actor == "telemetry"
    assert store.get_alert(alert.id or 0).state is AlertState.CLEARED


def test_a_recurrence_within_the_window_reopens_the_order_as_a_repeat_failure() -> None:
    desk, store, clock = desk_with()
    order_id = desk.handle(notice("raised", T0)).work_order_id or 0
    for action in (Action.START, Action.RESOLVE):
        desk.act(order_id, action, "crew-1")
    desk.handle(notice("cleared", T0 + timedelta(minutes=30)))
    clock.now = T0 + timedelta(hours=2)
    desk.verify_closures()
    clock.now = T0 + timedelta(days=3)
    desk.handle(notice("raised", T0 + timedelta(days=3)))
    reopened = store.get_order(order_id)
    assert reopened.status is Status.OPEN and len(store.orders) == 1
    assert reopened.history[-1].note.startswith("repeat failure")


def test_a_person_cannot_close_an_alert_order_before_telemetry_verifies_the_fix() -> None:
    desk, _, clock = desk_with()
    order_id = desk.handle(notice("raised", T0)).work_order_id or 0
    for action in (Action.START, Action.RESOLVE):
        desk.act(order_id, action, "crew-1")
    with pytest.raises(FixNotVerified, match="it is not clear"):
        desk.act(order_id, Action.CLOSE, "crew-1")
    desk.handle(notice("cleared", T0 + timedelta(minutes=5)))
    clock.now = T0 + timedelta(minutes=15)
    with pytest.raises(FixNotVerified, match="clear for only 0:10:00"):
        desk.act(order_id, Action.CLOSE, "crew-1")
    clock.now = T0 + timedelta(minutes=40)
    assert desk.act(order_id, Action.CLOSE, "crew-1").status is Status.CLOSED


def test_an_acknowledgement_and_an_analytics_update_at_once_both_survive() -> None:
    """The crew's acknowledgement is written from the alert it read; the analytics service
    updates the alert in between. With alert versions the acknowledgement is applied again
    to the updated alert instead of overwriting it, and neither change is lost."""
    desk, store, _ = desk_with()
    alert = desk.handle(notice("raised", T0))
    read_by_crew = store.get_alert(alert.id or 0)
    spread = ("fire_alarm (zones: B2, B3)",)
    worse = AlertNotice("updated", "tower-a", "fire_panel", "fp-1", "fire_alarm", "critical",
                        T0 + timedelta(minutes=1), spread, score=9.0)  # fmt: skip
    desk.handle(worse)  # lands between the crew's read and its write
    acknowledged = revise_alert(store, read_by_crew,
                                lambda a: replace(a, state=AlertState.ACKNOWLEDGED))  # fmt: skip
    assert acknowledged.state is AlertState.ACKNOWLEDGED
    assert (acknowledged.score, acknowledged.evidence) == (9.0, spread)
    assert store.get_alert(alert.id or 0) == acknowledged
    desk.handle(notice("cleared", T0 + timedelta(minutes=2)))  # and clearing keeps it too
    assert store.get_alert(alert.id or 0).state is AlertState.CLEARED


def test_a_refusal_is_judged_against_the_alert_as_stored_now() -> None:
    desk, store, _ = desk_with()
    alert = desk.handle(notice("raised", T0))
    stale = store.get_alert(alert.id or 0)
    desk.handle(notice("cleared", T0 + timedelta(minutes=1)))

    def acknowledge(current: AlertRecord) -> AlertRecord:
        if current.state is AlertState.CLEARED:
            raise ValueError("already cleared")
        return replace(current, state=AlertState.ACKNOWLEDGED)

    with pytest.raises(ValueError, match="already cleared"):
        revise_alert(store, stale, acknowledge)


class StaleOpenAlert(MemoryStore):
    """open_alert_for answers with the alert as it was read before a person changed it."""

    stale: AlertRecord | None = None

    def open_alert_for(self, site: str, device: str, signature: str) -> AlertRecord | None:
        return self.stale or super().open_alert_for(site, device, signature)


def test_a_dismissal_just_before_the_clear_stays_a_dismissal() -> None:
    store = StaleOpenAlert()
    desk = Desk(store, lambda: [P1_POLICY], Clock())
    alert = desk.handle(notice("raised", T0))
    store.stale = store.get_alert(alert.id or 0)  # analytics' read, before the dismissal
    revise_alert(store, store.stale, lambda a: replace(a, state=AlertState.DISMISSED,
                                                       dismissed_reason="drill"))  # fmt: skip
    desk.handle(notice("cleared", T0 + timedelta(minutes=3)))
    final = store.get_alert(alert.id or 0)
    assert (final.state, final.dismissed_reason) == (AlertState.DISMISSED, "drill")
    assert final.cleared_at == T0 + timedelta(minutes=3)
