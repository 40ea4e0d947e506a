"""Preventive maintenance: when plans fall due, which orders to open, compliance."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from maintenance.pm import (
    PLAN_TEMPLATES,
    EveryDays,
    EveryUsage,
    PlanState,
    PmPlan,
    WhenForecast,
    due_occurrences,
    orders_to_generate,
    plans_for_devices,
    pm_compliance,
)

NOW = datetime(2024, 3, 10, 6, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def d(month: int, day: int) -> datetime:
    return datetime(2024, month, day, 6, 0, tzinfo=UTC)


LIFT_15 = PmPlan(1, "Lift half-monthly", "tower-a", "lift-1", "elevator", "routine", EveryDays(15))
LIFT_DOORS = replace(LIFT_15, id=2, name="Door operator", trigger=EveryUsage("trips", 50_000))
PUMP_VIB = PmPlan(3, "Bearings", "tower-a", "pump-1", "pump", "inspect", WhenForecast("vib", 14))


def template(name: str) -> PmPlan:
    return next(p for p in PLAN_TEMPLATES if p.name == name)


def test_templates_carry_the_regulated_intervals():
    assert template("Elevator half-monthly maintenance").trigger == EveryDays(15)
    assert template("Elevator quarterly maintenance").trigger == EveryDays(90)
    assert template("Fire pump monthly run test").kind == "pump"
    assert template("Fire system annual full test").trigger == EveryDays(365)
    assert {type(p.trigger) for p in PLAN_TEMPLATES} == {EveryDays, EveryUsage, WhenForecast}
    assert all(p.id is None and p.device is None for p in PLAN_TEMPLATES)


def test_plans_for_devices_makes_one_plan_each():
    plans = plans_for_devices(template("Elevator half-monthly maintenance"), "t", ["l1", "l2"])
    assert [(p.site, p.device) for p in plans] == [("t", "l1"), ("t", "l2")]


# --- time-based ----------------------------------------------------------------------------


def test_fifteen_day_plan_occurrences():
    # Done 1 March: due 16 March, 31 March, 15 April; horizon ends 19 April.
    assert due_occurrences(LIFT_15, d(3, 1), NOW, 40) == [d(3, 16), d(3, 31), d(4, 15)]
    assert due_occurrences(LIFT_15, d(3, 1), NOW, 5) == []


def test_never_done_is_due_now():
    assert due_occurrences(LIFT_15, None, NOW, 20) == [NOW, NOW + 15 * DAY]


def test_never_done_waits_for_its_first_due_date():
    later = replace(LIFT_15, trigger=EveryDays(15, first_due=d(3, 20)))
    assert due_occurrences(later, None, NOW, 5) == []
    assert due_occurrences(later, None, NOW, 30) == [d(3, 20), d(4, 4)]


def test_a_first_due_date_already_past_is_one_missed_job_then_the_grid():
    # First due 1 Mar, never done: that visit is owed; the grid from it continues on 16 Mar.
    missed = replace(LIFT_15, trigger=EveryDays(15, first_due=d(3, 1)))
    assert due_occurrences(missed, None, NOW, 10) == [d(3, 1), d(3, 16)]


def test_once_done_the_first_due_date_no_longer_matters():
    done = replace(LIFT_15, trigger=EveryDays(15, first_due=d(5, 1)))
    assert due_occurrences(done, d(3, 1), NOW, 10) == [d(3, 16)]


def test_plans_spread_from_a_date_are_whole_days_apart_over_the_interval():
    lifts = [f"l{n}" for n in range(6)]
    plans = plans_for_devices(template("Elevator half-monthly maintenance"), "t", lifts, NOW)
    firsts = [p.trigger.first_due for p in plans if isinstance(p.trigger, EveryDays)]
    assert firsts == [NOW + n * DAY for n in (0, 2, 5, 7, 10, 12)]
    generated = [orders_to_generate([PlanState(replace(p, id=i))], set(), NOW, lead_days=7)
                 for i, p in enumerate(plans, 1)]  # fmt: skip
    assert [len(g) for g in generated] == [1, 1, 1, 1, 0, 0]  # not all at once


def test_spreading_leaves_usage_and_condition_plans_alone():
    doors = plans_for_devices(LIFT_DOORS, "t", ["l1", "l2"], NOW)
    assert [p.trigger for p in doors] == [LIFT_DOORS.trigger] * 2


def test_missed_visits_are_one_job_then_the_grid_continues():
    # Done 1 Jan: 16 Jan missed (kept, the earliest), 31 Jan, 15 Feb, 1 Mar skipped;
    # next on the grid after now (10 Mar) is 16 Mar.
    assert due_occurrences(LIFT_15, d(1, 1), NOW, 10) == [d(1, 16), d(3, 16)]


# --- usage-based ---------------------------------------------------------------------------


def test_usage_plan_due_from_meter_rate():
    # 30,000 trips since the last service, 20,000 to go at 1,000 trips/day → 20 days.
    def due(horizon: float) -> list[datetime]:
        return due_occurrences(
            LIFT_DOORS, d(2, 1), NOW, horizon, 130_000, 1_000, meter_at_last_done=100_000
        )

    assert due(60) == [NOW + 20 * DAY]
    assert due(70) == [NOW + 20 * DAY, NOW + 70 * DAY]  # then every 50 days


def test_usage_plan_overdue_or_without_data():
    assert due_occurrences(LIFT_DOORS, d(2, 1), NOW, 10, 56_000, None) == [NOW]
    assert due_occurrences(LIFT_DOORS, d(2, 1), NOW, 10, 10_000, None) == []
    assert due_occurrences(LIFT_DOORS, d(2, 1), NOW, 10, None, 1_000) == []


# --- condition-based -----------------------------------------------------------------------


def test_condition_plan_from_forecast():
    assert due_occurrences(PUMP_VIB, None, NOW, 30, forecast_crossing=NOW + 10 * DAY) == [
        NOW + 10 * DAY
    ]
    assert due_occurrences(PUMP_VIB, None, NOW, 30, forecast_crossing=NOW + 20 * DAY) == []
    assert due_occurrences(PUMP_VIB, None, NOW, 30, forecast_crossing=NOW - DAY) == [NOW]
    assert due_occurrences(PUMP_VIB, None, NOW, 30) == []


# --- generating orders ---------------------------------------------------------------------


def test_orders_are_generated_lead_days_ahead_and_never_twice():
    lift = PlanState(LIFT_15, last_done=d(3, 1))  # due 16 March
    assert orders_to_generate([lift], set(), NOW, lead_days=5) == []  # 6 days ahead
    first = orders_to_generate([lift], set(), NOW, lead_days=7)
    assert first == [(LIFT_15, d(3, 16))]
    existing = {(p.id, due) for p, due in first if p.id is not None}
    assert orders_to_generate([lift], existing, NOW + DAY, lead_days=7) == []


def test_wobbling_usage_estimate_does_not_open_a_second_order():
    state = PlanState(LIFT_DOORS, d(2, 1), 145_000, 100_000, meter_per_day=1_000)
    first = orders_to_generate([state], set(), NOW, lead_days=7)
    assert first == [(LIFT_DOORS, NOW + 5 * DAY)]
    # A day later the rate estimate moved: due in 2.9 days instead of the 4 expected.
    later = replace(state, meter_reading=146_500, meter_per_day=1_200)
    existing = {(2, NOW + 5 * DAY)}
    assert orders_to_generate([later], existing, NOW + DAY, lead_days=7) == []


def test_overdue_condition_job_is_not_reopened_every_run():
    state = PlanState(PUMP_VIB, last_done=d(1, 5), forecast_crossing=NOW - DAY)
    first = orders_to_generate([state], set(), NOW, lead_days=3)
    assert first == [(PUMP_VIB, NOW)]
    later = replace(state, forecast_crossing=NOW - 2 * DAY)
    assert orders_to_generate([later], {(3, NOW)}, NOW + 30 * DAY, lead_days=3) == []
    serviced = replace(later, last_done=NOW + 2 * DAY)  # done, but the forecast still crosses
    assert orders_to_generate([serviced], {(3, NOW)}, NOW + 30 * DAY, 3) == [
        (PUMP_VIB, NOW + 30 * DAY)
    ]


def test_unsaved_plan_cannot_be_scheduled():
    with pytest.raises(ValueError, match="no id"):
        orders_to_generate([PlanState(replace(LIFT_15, id=None))], set(), NOW, 7)


def test_pm_compliance():
    due = d(3, 1)
    done = [(due, due - DAY), (due, due), (due, due + timedelta(minutes=1)), (due, None)]
    assert pm_compliance(done) == 50.0
    assert pm_compliance([]) == 100.0
