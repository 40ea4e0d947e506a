"""KPIs on a small hand-built week (Fri 1 March to Fri 8 March 2024, 168 hours)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from maintenance.domain import Action, Priority, Status, WorkOrder, apply_action
from maintenance.kpis import compute_kpis, compute_kpis_by, status_at
from maintenance.sla import SlaPolicy

START = datetime(2024, 3, 1, tzinfo=UTC)
END = datetime(2024, 3, 8, tzinfo=UTC)


def t(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2024, month, day, hour, minute, tzinfo=UTC)


def wo(id: int, priority: Priority, status: Status, opened: datetime, **kw) -> WorkOrder:
    return WorkOrder(id, f"order {id}", priority, status, opened, **kw)


LIFT = {"site": "s1", "device": "e1", "kind": "elevator"}
PUMP = {"site": "s1", "device": "p1", "kind": "pump"}


def week() -> list[WorkOrder]:
    # H is built through its history: acknowledged in the week, resolved after it.
    h = wo(8, Priority.P2, Status.OPEN, t(3, 6), site="s1")
    h = apply_action(h, Action.ACKNOWLEDGE, "crew", t(3, 6, 1))
    h = apply_action(h, Action.RESOLVE, "crew", t(3, 9))
    return [
        # A: corrective, answered in 10 min, fixed in 120 min, both on time.
        wo(1, Priority.P2, Status.RESOLVED, t(3, 1, 10), **LIFT, alert_signature="a",
           acknowledged_at=t(3, 1, 10, 10), resolved_at=t(3, 1, 12),
           response_due=t(3, 1, 11), resolve_due=t(3, 1, 18)),
        # B: repeat of A; answered late (30 min, due after 20), fixed in 360 min on time.
        wo(2, Priority.P3, Status.CLOSED, t(3, 2, 9), **LIFT, alert_signature="a",
           repeat_of=1, acknowledged_at=t(3, 2, 9, 30), resolved_at=t(3, 2, 15),
           response_due=t(3, 2, 9, 20), resolve_due=t(3, 2, 17)),
        # C: pump failure, answered late (20 min, due after 15), not fixed: both breached.
        wo(3, Priority.P1, Status.IN_PROGRESS, t(3, 5), **PUMP, alert_signature="p",
           acknowledged_at=t(3, 5, 0, 20), response_due=t(3, 5, 0, 15),
           resolve_due=t(3, 5, 4)),
        # D: manual request, deadlines after the week: not judged yet.
        wo(4, Priority.P4, Status.OPEN, t(3, 7, 12), site="s2", device="g1",
           kind="access_gate", response_due=t(3, 8, 12), resolve_due=t(3, 10)),
        # E and F: PM orders, E done before its due date, F not done.
        wo(5, Priority.P3, Status.RESOLVED, t(2, 20), **LIFT, acknowledged_at=t(2, 21),
           resolved_at=t(3, 2), resolve_due=t(3, 3)),
        wo(6, Priority.P3, Status.OPEN, t(2, 25), **PUMP, resolve_due=t(3, 6)),
        # G: cancelled before anyone answered: not owed, so not judged.
        wo(7, Priority.P2, Status.CANCELLED, t(3, 3), site="s1", response_due=t(3, 3, 1)),
        h,
        wo(9, Priority.P3, Status.OPEN, t(3, 7, 20), site="s2"),
    ]  # fmt: skip


PM_IDS = {5, 6}
ALERTS = [
    (t(3, 1, 10), "confirmed"),
    (t(3, 2), "confirmed"),
    (t(3, 3), "dismissed"),
    (t(2, 28), "confirmed"),  # before the week
]


@pytest.fixture
def kpis():
    return compute_kpis(week(), START, END, ALERTS, pm_order_ids=PM_IDS)


def test_response_and_repair_times(kpis):
    # PM orders are left out. Acknowledged in the week: A 10, B 30, C 20, H 60 → 30 min.
    assert kpis.mtta_minutes == pytest.approx(30)
    # Resolved in the week: A 120, B 360 (H is resolved after the week) → 240 min.
    assert kpis.mttr_minutes == pytest.approx(240)
    assert kpis.orders_opened == 7


def test_sla_compliance(kpis):
    # Response: A met; B and C late; D not due yet; G cancelled → 1 of 3.
    assert (kpis.response_compliance_pct, kpis.response_judged) == (pytest.approx(100 / 3), 3)
    # Resolution: A and B met; C breached at 04:00 on 5 March → 2 of 3.
    assert (kpis.resolution_compliance_pct, kpis.resolution_judged) == (
        pytest.approx(200 / 3),
        3,
    )


def test_each_target_is_judged_in_one_period_only():
    nxt = compute_kpis(week(), END, datetime(2024, 3, 15, tzinfo=UTC), pm_order_ids=PM_IDS)
    # Only D falls due in the next week (response 8 March 12:00, resolution 10 March), missed.
    assert (nxt.response_judged, nxt.response_compliance_pct) == (1, 0.0)
    assert (nxt.resolution_judged, nxt.resolution_compliance_pct) == (1, 0.0)
    assert nxt.mttr_minutes == pytest.approx(3 * 24 * 60)  # H: 6 March 00:00 → 9 March 00:00


def test_backlog_at_the_end_of_the_week(kpis):
    # Active on 8 March 00:00: C (3 d), D (12 h), F (12 d), H (2 d, resolved later), I (4 h).
    assert kpis.backlog_total == 5
    assert dict(kpis.backlog_by_age) == {"<1d": 2, "1-3d": 1, "3-7d": 1, ">7d": 1}
    assert dict(kpis.backlog_by_priority) == {"P1": 1, "P2": 1, "P3": 2, "P4": 1}


def test_status_is_reconstructed_from_history():
    h = week()[7]
    assert status_at(h, t(3, 5)) is None
    assert status_at(h, t(3, 6, 0, 30)) is Status.OPEN
    assert status_at(h, t(3, 8)) is Status.ACKNOWLEDGED
    assert status_at(h, t(3, 9)) is Status.RESOLVED


def test_pm_compliance(kpis):
    assert (kpis.pm_compliance_pct, kpis.pm_judged) == (50.0, 2)


def test_failures(kpis):
    assert kpis.corrective_orders == 3
    assert kpis.repeat_failure_pct == pytest.approx(100 / 3)
    # 168 h ÷ failures: lift e1 failed twice, pump p1 once.
    assert kpis.mtbf_hours_by_device == {"s1/e1": 84.0, "s1/p1": 168.0}
    assert kpis.mtbf_hours_by_kind == {"elevator": 84.0, "pump": 168.0}


def test_mtbf_per_kind_counts_devices_that_did_not_fail():
    fleet = {"s1/e1": "elevator", "s1/e2": "elevator", "s1/p1": "pump"}
    kpis = compute_kpis(week(), START, END, pm_order_ids=PM_IDS, fleet=fleet)
    assert kpis.mtbf_hours_by_kind == {"elevator": 168.0, "pump": 168.0}


def test_alert_outcomes(kpis):
    assert (kpis.alerts_confirmed, kpis.alerts_dismissed) == (2, 1)
    with pytest.raises(ValueError, match="alert outcome"):
        compute_kpis([], START, END, [(START, "ignored")])


def test_empty_period_has_no_made_up_figures():
    kpis = compute_kpis([], START, END)
    assert kpis.mtta_minutes is None
    assert kpis.response_compliance_pct is None
    assert kpis.pm_compliance_pct is None
    assert kpis.repeat_failure_pct is None
    assert kpis.backlog_total == 0


def test_as_dict_is_json(kpis):
    data = json.loads(json.dumps(kpis.as_dict()))
    assert data["start"] == "2024-03-01T00:00:00+00:00"
    assert data["backlog_by_priority"]["P3"] == 2
    assert data["mtbf_hours_by_device"]["s1/p1"] == 168.0


def test_grouped_by_site():
    by_site = compute_kpis_by(week(), lambda o: o.site or "?", START, END, PM_IDS)
    assert sorted(by_site) == ["s1", "s2"]
    assert by_site["s2"].backlog_total == 2  # D and I
    assert by_site["s2"].orders_opened == 2
    assert by_site["s1"].corrective_orders == 3
    assert by_site["s1"].pm_compliance_pct == 50.0


def test_period_must_be_aware_and_ordered():
    with pytest.raises(ValueError, match="after start"):
        compute_kpis([], END, START)
    with pytest.raises(ValueError, match="timezone-aware"):
        compute_kpis([], datetime(2024, 3, 1), END)


def held_p3(resolve_at: datetime, hold_from: datetime, hold_until: datetime) -> WorkOrder:
    """A P3 order due 8 h after it opened (Mon 09:00 → 17:00), with one hold in between."""
    order = wo(20, Priority.P3, Status.OPEN, t(3, 4, 9), site="s1", kind="pump",
               response_due=t(3, 4, 10), resolve_due=t(3, 4, 17))  # fmt: skip
    for action, at in [
        (Action.ACKNOWLEDGE, t(3, 4, 9, 10)),
        (Action.START, t(3, 4, 9, 30)),
        (Action.HOLD, hold_from),
        (Action.RESUME, hold_until),
        (Action.RESOLVE, resolve_at),
    ]:
        order = apply_action(order, action, "crew", at)
    return order


def p3_policy(pause_on_hold: bool) -> SlaPolicy:
    return SlaPolicy(None, "P3", Priority.P3, None, 60, 480, pause_on_hold=pause_on_hold)


def test_time_on_hold_moves_the_resolution_due_where_the_policy_pauses_the_clock():
    # On hold 10:00-13:00, resolved at 19:00: two hours after the stored due, one hour
    # before the due paused by the three hours on hold.
    order = held_p3(t(3, 4, 19), t(3, 4, 10), t(3, 4, 13))
    paused = compute_kpis([order], START, END, policies=[p3_policy(pause_on_hold=True)])
    assert (paused.resolution_compliance_pct, paused.resolution_judged) == (100.0, 1)
    assert (paused.response_compliance_pct, paused.response_judged) == (100.0, 1)
    running = compute_kpis([order], START, END, policies=[p3_policy(pause_on_hold=False)])
    assert running.resolution_compliance_pct == 0.0
    assert compute_kpis([order], START, END).resolution_compliance_pct == 0.0  # no policy


def test_a_hold_after_the_due_does_not_undo_the_breach():
    order = held_p3(t(3, 4, 21), t(3, 4, 18), t(3, 4, 20))
    kpis = compute_kpis([order], START, END, policies=[p3_policy(pause_on_hold=True)])
    assert kpis.resolution_compliance_pct == 0.0


def test_a_paused_due_is_judged_in_the_period_it_moved_into():
    # Still on hold at the end of Monday: the stored due (17:00) has passed but the clock
    # is stopped, so Monday does not count it as missed.
    order = wo(21, Priority.P3, Status.OPEN, t(3, 4, 9), site="s1",
               response_due=t(3, 4, 10), resolve_due=t(3, 4, 17))  # fmt: skip
    order = apply_action(order, Action.ACKNOWLEDGE, "crew", t(3, 4, 9, 10))
    order = apply_action(order, Action.START, "crew", t(3, 4, 9, 30))
    order = apply_action(order, Action.HOLD, "crew", t(3, 4, 12))
    monday = compute_kpis([order], t(3, 4), t(3, 5), policies=[p3_policy(pause_on_hold=True)])
    assert monday.resolution_judged == 0
    stored = compute_kpis([order], t(3, 4), t(3, 5))
    assert (stored.resolution_compliance_pct, stored.resolution_judged) == (0.0, 1)


def test_grouped_kpis_use_the_policies_too():
    order = held_p3(t(3, 4, 19), t(3, 4, 10), t(3, 4, 13))
    by_kind = compute_kpis_by([order], lambda o: o.kind or "-", START, END,
                              policies=[p3_policy(pause_on_hold=True)])  # fmt: skip
    assert by_kind["pump"].resolution_compliance_pct == 100.0
