"""SLA arithmetic, worked by hand on a calendar: 2024-03-01 is a Friday."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from maintenance.domain import Action, Priority, Status, WorkOrder, apply_action
from maintenance.sla import (
    BusinessCalendar,
    SlaPolicy,
    SlaState,
    add_business_time,
    business_minutes_between,
    choose_policy,
    due_times,
    escalate,
    hold_intervals,
    sla_status,
)

OFFICE = BusinessCalendar()  # Mon-Fri 08:00-18:00 UTC


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in March 2024 (UTC)."""
    return datetime(2024, 3, day, hour, minute, tzinfo=UTC)


P1_24_7 = SlaPolicy(1, "P1 life safety", Priority.P1, None, 15, 240)
P2_PAUSE = SlaPolicy(2, "P2 24/7", Priority.P2, None, 60, 480, pause_on_hold=True)
P3_OFFICE = SlaPolicy(3, "P3 office hours", Priority.P3, None, 240, 1800, calendar=OFFICE)


MONDAY_10 = at(4, 10)


def order(priority: Priority = Priority.P2, opened: datetime = MONDAY_10, **kw) -> WorkOrder:
    return WorkOrder(17, "Pump vibration high", priority, Status.OPEN, opened, **kw)


def act(o: WorkOrder, *steps: tuple[Action, datetime]) -> WorkOrder:
    for action, moment in steps:
        o = apply_action(o, action, "crew", moment)
    return o


# --- business-hours arithmetic -------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "minutes", "expected"),
    [
        (at(5, 10), 60, at(5, 11)),  # inside one working day
        (at(5, 17, 30), 60, at(6, 8, 30)),  # 30 min tonight's close, 30 min tomorrow
        (at(5, 6), 30, at(5, 8, 30)),  # logged before opening: clock starts at 08:00
        (at(5, 19), 30, at(6, 8, 30)),  # logged after closing
        (at(1, 17), 120, at(4, 9)),  # Friday evening over the weekend to Monday
        (at(2, 12), 30, at(4, 8, 30)),  # logged on Saturday
        (at(5, 18), 600, at(6, 18)),  # ending exactly at a closing time stays there
    ],
)
def test_add_business_time(start, minutes, expected):
    assert add_business_time(start, minutes, OFFICE) == expected


def test_add_business_time_three_days_is_thirty_hours_of_office_time():
    # Mon 08:00 + 1800 min = Mon 600 + Tue 600 + Wed 600 → Wed 18:00, not Wed 14:00.
    assert add_business_time(at(4, 8), 1800, OFFICE) == at(6, 18)


def test_holiday_is_skipped():
    holiday = replace(OFFICE, holidays=frozenset({date(2024, 3, 4)}))
    assert add_business_time(at(1, 17), 120, holiday) == at(5, 9)


def test_calendar_in_local_time():
    # Shanghai is UTC+8: 08:00-18:00 local is 00:00-10:00 UTC.
    shanghai = BusinessCalendar(zone=ZoneInfo("Asia/Shanghai"))
    # Monday 17:30 local + 60 min → Tuesday 08:30 local = Tuesday 00:30 UTC.
    assert add_business_time(at(4, 9, 30), 60, shanghai) == at(5, 0, 30)


def test_around_the_clock_when_no_calendar():
    assert add_business_time(at(2, 23), 90, None) == at(3, 0, 30)


def test_minutes_between_counts_only_open_hours_and_keeps_sign():
    assert business_minutes_between(at(1, 17), at(4, 9), OFFICE) == 120
    assert business_minutes_between(at(4, 9), at(1, 17), OFFICE) == -120
    assert business_minutes_between(at(2, 9), at(3, 17), OFFICE) == 0  # a weekend
    assert business_minutes_between(at(2, 9), at(3, 17), None) == 32 * 60


def test_naive_datetimes_and_bad_calendars_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_time(datetime(2024, 3, 4, 10), 5, OFFICE)
    with pytest.raises(ValueError, match="opens"):
        BusinessCalendar(opens=OFFICE.closes, closes=OFFICE.opens)
    with pytest.raises(ValueError, match="weekdays"):
        BusinessCalendar(weekdays=frozenset())


# --- policies and due times ----------------------------------------------------------------


def test_choose_policy_prefers_the_kind_specific_one():
    generic = P2_PAUSE
    lifts = replace(P2_PAUSE, id=9, name="P2 lifts", kind="elevator", response_minutes=30)
    policies = [generic, lifts, P3_OFFICE]
    assert choose_policy(policies, Priority.P2, "elevator") is lifts
    assert choose_policy(policies, Priority.P2, "pump") is generic
    assert choose_policy(policies, Priority.P2, None) is generic
    assert choose_policy(policies, Priority.P4, "pump") is None


def test_due_times_p1_around_the_clock():
    # Saturday night: a 24/7 policy does not wait for Monday.
    assert due_times(P1_24_7, at(2, 22)) == (at(2, 22, 15), at(3, 2))


def test_due_times_p3_business_hours():
    # Friday 16:00: 120 min on Friday, the rest from Monday 08:00.
    # Response 240 → Mon 10:00. Resolve 1800 → Fri 120 + Mon 600 + Tue 600 + Wed 480 → 16:00.
    assert due_times(P3_OFFICE, at(1, 16)) == (at(4, 10), at(6, 16))


# --- SLA states ----------------------------------------------------------------------------


def test_due_soon_at_eighty_percent():
    o = order()  # P2: resolve 480 min from 10:00 → 18:00; 80 % is 384 min → 16:24
    assert sla_status(o, P2_PAUSE, at(4, 16, 23)).resolution.state is SlaState.OK
    assert sla_status(o, P2_PAUSE, at(4, 16, 24)).resolution.state is SlaState.DUE_SOON
    assert sla_status(o, P2_PAUSE, at(4, 18)).resolution.state is SlaState.DUE_SOON


def test_breached_and_met():
    o = act(order(), (Action.ACKNOWLEDGE, at(4, 10, 40)))
    report = sla_status(o, P2_PAUSE, at(4, 18, 1))
    assert report.response.state is SlaState.MET
    assert report.resolution.state is SlaState.BREACHED
    assert report.resolution.overdue_minutes == pytest.approx(1)
    late = act(o, (Action.START, at(4, 11)), (Action.RESOLVE, at(4, 18, 30)))
    final = sla_status(late, P2_PAUSE, at(5, 9)).resolution
    assert final.state is SlaState.BREACHED
    assert final.completed_at == at(4, 18, 30)
    assert final.overdue_minutes == pytest.approx(30)


def test_late_acknowledgement_breaches_the_response():
    o = act(order(), (Action.ACKNOWLEDGE, at(4, 11, 5)))
    response = sla_status(o, P2_PAUSE, at(4, 12)).response
    assert response.breached and not response.met


def test_stored_due_times_are_the_promise():
    o = order(response_due=at(4, 10, 30), resolve_due=at(4, 12))
    report = sla_status(o, P2_PAUSE, at(4, 12, 5))
    assert report.response.due == at(4, 10, 30)
    assert report.resolution.state is SlaState.BREACHED


def on_hold_order() -> WorkOrder:
    return act(
        order(),
        (Action.ACKNOWLEDGE, at(4, 10, 10)),
        (Action.START, at(4, 10, 20)),
        (Action.HOLD, at(4, 12)),
        (Action.RESUME, at(4, 14)),
    )


def test_time_on_hold_moves_the_due():
    o = on_hold_order()
    assert hold_intervals(o, at(4, 19)) == [(at(4, 12), at(4, 14))]
    resolution = sla_status(o, P2_PAUSE, at(4, 19)).resolution
    assert resolution.due == at(4, 20)  # 18:00 + 2 h on hold
    assert resolution.state is SlaState.DUE_SOON  # 7 h of 8 h used
    no_pause = replace(P2_PAUSE, pause_on_hold=False)
    assert sla_status(o, no_pause, at(4, 19)).resolution.state is SlaState.BREACHED


def test_order_still_on_hold_is_paused_up_to_now():
    o = act(on_hold_order(), (Action.HOLD, at(4, 15)))
    resolution = sla_status(o, P2_PAUSE, at(4, 21)).resolution
    # 2 h earlier hold + 6 h so far in this one: 18:00 + 8 h = 02:00 next day.
    assert resolution.due == at(5, 2)
    # Clock used: 10:00-12:00 and 14:00-15:00 = 3 h of 8 h.
    assert resolution.elapsed_fraction == pytest.approx(3 / 8)
    assert resolution.state is SlaState.OK


def test_hold_after_a_breach_does_not_undo_it():
    o = act(
        order(),
        (Action.START, at(4, 10, 5)),
        (Action.HOLD, at(4, 19)),
    )
    resolution = sla_status(o, P2_PAUSE, at(4, 20)).resolution
    assert resolution.due == at(4, 18)
    assert resolution.state is SlaState.BREACHED


def test_hold_over_a_weekend_pauses_only_office_time():
    policy = replace(P3_OFFICE, pause_on_hold=True)
    o = act(
        order(Priority.P3, opened=at(1, 9)),
        (Action.START, at(1, 9, 30)),
        (Action.HOLD, at(1, 17)),  # Friday 17:00
        (Action.RESUME, at(4, 9)),  # Monday 09:00: 120 office minutes on hold
    )
    # Unpaused: Fri 540 + Mon 600 + Tue 600 + Wed 60 → Wed 09:00; plus 120 → Wed 11:00.
    assert due_times(policy, at(1, 9))[1] == at(6, 9)
    assert sla_status(o, policy, at(4, 10)).resolution.due == at(6, 11)


# --- escalation ----------------------------------------------------------------------------


def test_escalation_raises_priority_once_per_breach():
    policy = replace(P3_OFFICE, escalation="raise_priority")
    o = order(Priority.P3, opened=at(4, 8))  # response due Mon 12:00, resolution Wed 18:00
    now = at(4, 12, 30)
    raised, notes = escalate(o, sla_status(o, policy, now), policy, now)
    assert (raised.priority, notes) == (Priority.P2, [])
    entry = raised.history[-1]
    assert (entry.actor, entry.action, entry.at) == ("sla", "escalate", now)
    assert raised.version == o.version + 1

    later = at(4, 15)
    again, _ = escalate(raised, sla_status(raised, policy, later), policy, later)
    assert again == raised  # the same breach is not escalated twice

    much_later = at(7, 9)  # now the resolution target is breached too: a second breach
    twice, _ = escalate(again, sla_status(again, policy, much_later), policy, much_later)
    assert twice.priority is Priority.P1
    assert sum(1 for e in twice.history if e.action == "escalate") == 2


def test_escalation_leaves_orders_alone_when_not_breached_or_done():
    policy = replace(P2_PAUSE, escalation="raise_priority")
    o = order()
    assert escalate(o, sla_status(o, policy, at(4, 10, 30)), policy, at(4, 10, 30)) == (o, [])
    done = act(o, (Action.ACKNOWLEDGE, at(4, 12)), (Action.RESOLVE, at(4, 13)))
    now = at(4, 20)
    assert escalate(done, sla_status(done, policy, now), policy, now) == (done, [])


def test_notify_produces_text_once():
    policy = replace(P2_PAUSE, escalation="notify")
    o = order()  # response due 11:00
    now = at(4, 11, 25)
    noted, notes = escalate(o, sla_status(o, policy, now), policy, now)
    assert notes == ["P2 work order 17 breached its response target by 25 min"]
    assert noted.priority is Priority.P2
    later = at(4, 11, 40)
    assert escalate(noted, sla_status(noted, policy, later), policy, later)[1] == []


def test_notify_reads_hours_for_long_delays():
    policy = replace(P2_PAUSE, escalation="notify")
    o = act(order(), (Action.ACKNOWLEDGE, at(4, 10, 5)))
    now = at(4, 18) + timedelta(minutes=185)
    _, notes = escalate(o, sla_status(o, policy, now), policy, now)
    assert notes == ["P2 work order 17 breached its resolution target by 3 h 05 min"]
