"""Preventive maintenance plans and when their work falls due. Pure values, no database.

Three kinds of trigger:
- by the calendar (EveryDays): lifts are serviced every 15 days under China's elevator
  maintenance rules (TSG T5002), with the quarterly, half-yearly and annual items as plans of
  their own; fire pumps get a monthly run test and the fire system an annual full test;
- by use (EveryUsage): every so many units of a running counter (lift trips, pump run hours);
- by condition (WhenForecast): when a forecast says a limit will be crossed within N days.

A plan whose device is None is one job covering every device of its kind at the site (the
annual fire-system test); for one job per device, instantiate it per device
(`plans_for_devices`). Work orders are generated `lead_days` before their due date and never
twice for the same (plan, due date).
"""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from maintenance.domain import Priority

__all__ = [
    "PLAN_TEMPLATES",
    "EveryDays",
    "EveryUsage",
    "PlanState",
    "PmPlan",
    "Trigger",
    "WhenForecast",
    "due_occurrences",
    "orders_to_generate",
    "plans_for_devices",
    "pm_compliance",
]

_DAY = timedelta(days=1)


@dataclass(frozen=True)
class EveryDays:
    """Due every `days` days after the last time it was done; the first time on `first_due`
    (None: as soon as the plan exists)."""

    days: int
    first_due: datetime | None = None

    def __post_init__(self) -> None:
        if self.days <= 0:
            raise ValueError(f"EveryDays.days must be > 0, got {self.days}")


@dataclass(frozen=True)
class EveryUsage:
    """Due every `units` of the counter `meter` (a catalogue counter such as trips)."""

    meter: str
    units: float

    def __post_init__(self) -> None:
        if self.units <= 0:
            raise ValueError(f"EveryUsage.units must be > 0, got {self.units}")


@dataclass(frozen=True)
class WhenForecast:
    """Due when the forecast for `metric` crosses its limit within `within_days` days."""

    metric: str
    within_days: int

    def __post_init__(self) -> None:
        if self.within_days < 0:
            raise ValueError(f"WhenForecast.within_days must be >= 0, got {self.within_days}")


Trigger = EveryDays | EveryUsage | WhenForecast


@dataclass(frozen=True)
class PmPlan:
    """A recurring maintenance task for one device, or for all devices of a kind at a site."""

    id: int | None
    name: str
    site: str | None
    device: str | None
    kind: str
    task: str
    trigger: Trigger
    priority: Priority = Priority.P3


def _template(name: str, kind: str, task: str, trigger: Trigger) -> PmPlan:
    return PmPlan(None, name, None, None, kind, task, trigger)


PLAN_TEMPLATES: tuple[PmPlan, ...] = (
    _template(
        "Elevator half-monthly maintenance",
        "elevator",
        "Routine items: machine room, brake, doors and locks, car and landing buttons, pit.",
        EveryDays(15),
    ),
    _template(
        "Elevator quarterly maintenance",
        "elevator",
        "Half-monthly items plus traction sheave and ropes wear, governor and safety gear.",
        EveryDays(90),
    ),
    _template(
        "Elevator half-yearly maintenance",
        "elevator",
        "Quarterly items plus rope tension balance, guide shoes and buffers.",
        EveryDays(182),
    ),
    _template(
        "Elevator annual maintenance",
        "elevator",
        "Half-yearly items plus load test of the brake and full safety-circuit check.",
        EveryDays(365),
    ),
    _template(
        "Elevator door operator service",
        "elevator",
        "Clean and adjust door operator, rollers and sills (wear follows use, not the calendar).",
        EveryUsage("trips", 50_000),
    ),
    _template(
        "Fire pump monthly run test",
        "pump",
        "Start the fire pump, run it, record pressure and flow, check it stops cleanly.",
        EveryDays(30),
    ),
    _template(
        "Pump bearing lubrication",
        "pump",
        "Grease the bearings and check their temperature and vibration afterwards.",
        EveryUsage("run_hours_h", 2_000),
    ),
    _template(
        "Pump bearing inspection (vibration forecast)",
        "pump",
        "Inspect bearings and alignment before vibration reaches its limit.",
        WhenForecast("vibration_mm_s", 14),
    ),
    _template(
        "Fire system annual full test",
        "fire_panel",
        "Test every detector, call point, sounder and interface; battery discharge test.",
        EveryDays(365),
    ),
    _template(
        "Fire panel battery replacement (voltage forecast)",
        "fire_panel",
        "Replace standby batteries before their voltage falls below the limit.",
        WhenForecast("battery_v", 30),
    ),
)


def plans_for_devices(
    template: PmPlan, site: str, devices: Sequence[str], spread_from: datetime | None = None
) -> list[PmPlan]:
    """One plan per device from a kind-wide template (ids are left for the store to assign).

    With `spread_from`, a calendar template's first due dates are spread over its interval,
    whole days apart, starting then: twelve lifts on a 15-day plan are not all due on day one.
    """
    plans = []
    for index, device in enumerate(devices):
        trigger = template.trigger
        if spread_from is not None and isinstance(trigger, EveryDays):
            offset = _DAY * (index * trigger.days // len(devices))
            trigger = replace(trigger, first_due=spread_from + offset)
        plans.append(replace(template, id=None, site=site, device=device, trigger=trigger))
    return plans


def _time_due(
    every: EveryDays, last_done: datetime | None, now: datetime, until: datetime
) -> list[datetime]:
    """Dates on the grid last_done + k·days: the earliest missed one (a missed visit is one job,
    not several), then those after now. Never done means due on the plan's first due date, or
    now if it has none."""
    step = every.days * _DAY
    first = (every.first_due or now) if last_done is None else last_done + step
    if first > until:
        return []
    upcoming = first + step * ((now - first) // step + 1) if first <= now else first + step
    return [first, *_series(upcoming, step, until)]


def _series(start: datetime, step: timedelta, until: datetime) -> list[datetime]:
    """start, start + step, ... up to and including `until`."""
    dates: list[datetime] = []
    while start <= until:
        dates.append(start)
        start += step
    return dates


def _usage_due(
    every: EveryUsage,
    now: datetime,
    until: datetime,
    used: float | None,
    per_day: float | None,
) -> list[datetime]:
    """Dates the counter reaches each multiple of `units` at the current rate; already reached
    means due now. Without a reading nothing can be said; without a rate only an overdue one."""
    if used is None:
        return []
    remaining = every.units - used
    if per_day is None or per_day <= 0:
        return [now] if remaining <= 0 else []
    first = now + max(0.0, remaining) / per_day * _DAY
    return _series(first, every.units / per_day * _DAY, until)


def _condition_due(
    when: WhenForecast, now: datetime, until: datetime, crossing: datetime | None
) -> list[datetime]:
    """Due at the forecast crossing (now if already crossed), once it is within the window."""
    if crossing is None or crossing > now + when.within_days * _DAY:
        return []
    due = max(crossing, now)
    return [due] if due <= until else []


def due_occurrences(
    plan: PmPlan,
    last_done: datetime | None,
    now: datetime,
    horizon_days: float,
    meter_reading: float | None = None,
    meter_per_day: float | None = None,
    forecast_crossing: datetime | None = None,
    *,
    meter_at_last_done: float = 0.0,
) -> list[datetime]:
    """Due dates of `plan` up to `now + horizon_days`, oldest first; a missed one comes first.

    For a usage plan, `meter_reading` is the counter now and `meter_at_last_done` its value at
    the last service (0: counted since commissioning); `meter_per_day` is its recent rate.
    """
    until = now + horizon_days * _DAY
    trigger = plan.trigger
    if isinstance(trigger, EveryDays):
        return _time_due(trigger, last_done, now, until)
    if isinstance(trigger, EveryUsage):
        used = None if meter_reading is None else meter_reading - meter_at_last_done
        return _usage_due(trigger, now, until, used, meter_per_day)
    return _condition_due(trigger, now, until, forecast_crossing)


@dataclass(frozen=True)
class PlanState:
    """What is known about one plan now: its last service and the readings that drive it."""

    plan: PmPlan
    last_done: datetime | None = None
    meter_reading: float | None = None
    meter_at_last_done: float = 0.0
    meter_per_day: float | None = None
    forecast_crossing: datetime | None = None

    def occurrences(self, now: datetime, horizon_days: float) -> list[datetime]:
        """due_occurrences for this plan with these inputs."""
        return due_occurrences(
            self.plan,
            self.last_done,
            now,
            horizon_days,
            self.meter_reading,
            self.meter_per_day,
            self.forecast_crossing,
            meter_at_last_done=self.meter_at_last_done,
        )


def _tolerance(state: PlanState) -> timedelta:
    """How far apart two due dates of a plan may be and still be the same job.

    Calendar plans sit on a fixed grid, so only an exact match counts. Usage and condition due
    dates move with every new rate or forecast; a quarter of the service interval (or the
    forecast window) keeps a wobble in the estimate from opening a second order.
    """
    trigger = state.plan.trigger
    if isinstance(trigger, EveryDays):
        return timedelta(0)
    if isinstance(trigger, WhenForecast):
        return trigger.within_days * _DAY
    per_day = state.meter_per_day
    return timedelta(0) if not per_day or per_day <= 0 else trigger.units / per_day * _DAY / 4


def _outstanding(state: PlanState, ordered_due: datetime, now: datetime) -> bool:
    """A floating plan's order that fell due with no service since: that job is still open.

    Its due date was "now" when it was made, so it will not match a later "now" exactly.
    """
    if isinstance(state.plan.trigger, EveryDays) or ordered_due > now:
        return False
    return state.last_done is None or ordered_due > state.last_done


def _already_ordered(
    state: PlanState, due: datetime, known: AbstractSet[tuple[int, datetime]], now: datetime
) -> bool:
    """True when an order for this plan already covers the job due at `due`."""
    slack = _tolerance(state)
    return any(
        pid == state.plan.id and (abs(d - due) <= slack or _outstanding(state, d, now))
        for pid, d in known
    )


def orders_to_generate(
    plans: Sequence[PlanState],
    existing_due: AbstractSet[tuple[int, datetime]],
    now: datetime,
    lead_days: float,
) -> list[tuple[PmPlan, datetime]]:
    """(plan, due date) pairs to open orders for now: due within `lead_days`, not yet ordered.

    `existing_due` holds (plan id, due date) of orders already generated; those and the pairs
    returned here are never produced again. Plans must be stored (have an id).
    """
    known = set(existing_due)
    out: list[tuple[PmPlan, datetime]] = []
    for state in plans:
        plan = state.plan
        if plan.id is None:
            raise ValueError(f"plan {plan.name!r} has no id; store it before scheduling")
        for due in state.occurrences(now, lead_days):
            if not _already_ordered(state, due, known, now):
                known.add((plan.id, due))
                out.append((plan, due))
    return out


def pm_compliance(done: Sequence[tuple[datetime, datetime | None]]) -> float:
    """Percentage of (due, completed) pairs completed by their due date (on the due moment
    counts). 100.0 when nothing was due: nothing was missed."""
    if not done:
        return 100.0
    on_time = sum(1 for due, completed in done if completed is not None and completed <= due)
    return 100.0 * on_time / len(done)
