"""SLA arithmetic: business-hours clocks, due times, SLA states and escalation. Pure values.

A policy promises a first response and a resolution within so many minutes, counted either
around the clock (calendar None) or only while the site's maintenance desk is staffed (a
BusinessCalendar). All datetimes are timezone-aware; results are in UTC. Working hours are
read in the calendar's own time zone, because "08:00 to 18:00" means the building's local time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Literal

from maintenance.domain import HistoryEntry, Priority, Status, WorkOrder

__all__ = [
    "DEFAULT_POLICIES",
    "BusinessCalendar",
    "Escalation",
    "SlaPolicy",
    "SlaReport",
    "SlaState",
    "TargetStatus",
    "add_business_time",
    "business_minutes_between",
    "choose_policy",
    "due_times",
    "escalate",
    "hold_intervals",
    "sla_status",
]

Escalation = Literal["raise_priority", "notify"]
Target = Literal["response", "resolution"]

_MINUTE = timedelta(minutes=1)
SLA_ACTOR = "sla"
ESCALATE_ACTION = "escalate"


def _require_aware(moment: datetime, name: str) -> None:
    """Naive datetimes would silently mean the server's local time; refuse them early."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), got naive {moment.isoformat()}")


@dataclass(frozen=True)
class BusinessCalendar:
    """When the SLA clock runs: working weekdays (0 = Monday), opening hours, holidays.

    >>> cal = BusinessCalendar()
    >>> add_business_time(datetime(2024, 3, 1, 17, 0, tzinfo=UTC), 120, cal).isoformat()
    '2024-03-04T09:00:00+00:00'
    """

    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    opens: time = time(8, 0)
    closes: time = time(18, 0)
    holidays: frozenset[date] = frozenset()
    zone: tzinfo = UTC

    def __post_init__(self) -> None:
        if not self.weekdays or not self.weekdays <= set(range(7)):
            raise ValueError(f"weekdays must be a non-empty subset of 0..6, got {self.weekdays}")
        if self.opens >= self.closes:
            raise ValueError(f"opens ({self.opens}) must be before closes ({self.closes})")

    def is_working_day(self, day: date) -> bool:
        """A weekday the desk is staffed that is not a holiday."""
        return day.weekday() in self.weekdays and day not in self.holidays

    def windows_from(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working windows (UTC) that end after `start`, in order, without end.

        Windows are built from local wall-clock times and then converted, so a daylight-saving
        change shifts the UTC window rather than the opening hours.
        """
        day = start.astimezone(self.zone).date()
        while True:
            if self.is_working_day(day):
                opens = datetime.combine(day, self.opens, tzinfo=self.zone).astimezone(UTC)
                closes = datetime.combine(day, self.closes, tzinfo=self.zone).astimezone(UTC)
                if closes > start:
                    yield opens, closes
            day += timedelta(days=1)


def add_business_time(
    start: datetime, minutes: float, calendar: BusinessCalendar | None
) -> datetime:
    """The moment `minutes` of clock time after `start`; calendar None means 24/7.

    Time outside working hours does not count: a job logged at night starts its clock at the
    next opening.
    """
    _require_aware(start, "start")
    if minutes < 0:
        raise ValueError(f"minutes must be >= 0, got {minutes}")
    if calendar is None or minutes == 0:
        return (start + minutes * _MINUTE).astimezone(UTC)
    remaining = minutes * _MINUTE
    for opens, closes in calendar.windows_from(start):
        begin = max(opens, start)
        if remaining <= closes - begin:
            return begin + remaining
        remaining -= closes - begin
    raise AssertionError("unreachable: windows_from never ends")  # pragma: no cover


def business_minutes_between(a: datetime, b: datetime, calendar: BusinessCalendar | None) -> float:
    """Clock minutes from `a` to `b` (negative when `b` is earlier); calendar None means 24/7."""
    _require_aware(a, "a")
    _require_aware(b, "b")
    if b < a:
        return -business_minutes_between(b, a, calendar)
    if calendar is None:
        return (b - a) / _MINUTE
    total = timedelta(0)
    for opens, closes in calendar.windows_from(a):
        if opens >= b:
            break
        total += min(closes, b) - max(opens, a)
    return total / _MINUTE


@dataclass(frozen=True)
class SlaPolicy:
    """What is promised for work orders of one priority (and optionally one equipment kind).

    `due_soon_fraction`: the share of the allowed time after which a target is "due soon",
    so crews see it coming. `pause_on_hold`: time spent on hold (waiting for parts, for the
    tenant) stops the clock.
    """

    id: int | None
    name: str
    priority: Priority
    kind: str | None
    response_minutes: float
    resolve_minutes: float
    calendar: BusinessCalendar | None = None
    pause_on_hold: bool = False
    due_soon_fraction: float = 0.8
    escalation: Escalation | None = None

    def __post_init__(self) -> None:
        if self.response_minutes <= 0 or self.resolve_minutes <= 0:
            raise ValueError(f"policy {self.name!r}: response and resolve minutes must be > 0")
        if not 0 < self.due_soon_fraction <= 1:
            raise ValueError(
                f"policy {self.name!r}: due_soon_fraction must be in (0, 1], "
                f"got {self.due_soon_fraction}"
            )


def choose_policy(
    policies: Sequence[SlaPolicy], priority: Priority, kind: str | None
) -> SlaPolicy | None:
    """The policy for this priority and equipment kind: a kind-specific one wins over a generic
    one (kind None); among equals the first listed. None when nothing matches."""
    matching = [p for p in policies if p.priority == priority and p.kind in (None, kind)]
    if not matching:
        return None
    return min(matching, key=lambda p: p.kind is None)


def due_times(policy: SlaPolicy, opened_at: datetime) -> tuple[datetime, datetime]:
    """(response_due, resolve_due) for an order opened at `opened_at`, without any pause."""
    return (
        add_business_time(opened_at, policy.response_minutes, policy.calendar),
        add_business_time(opened_at, policy.resolve_minutes, policy.calendar),
    )


class SlaState(StrEnum):
    OK = "ok"
    DUE_SOON = "due_soon"
    BREACHED = "breached"
    MET = "met"


@dataclass(frozen=True)
class TargetStatus:
    """Where one target (response or resolution) stands.

    `due` includes the pause for time on hold. `overdue_minutes` is clock time (in the policy's
    calendar) past `due`: until completion, or until now while still open; 0 when not late.
    """

    target: Target
    state: SlaState
    due: datetime
    completed_at: datetime | None
    elapsed_fraction: float
    overdue_minutes: float

    @property
    def met(self) -> bool:
        return self.state is SlaState.MET

    @property
    def breached(self) -> bool:
        return self.state is SlaState.BREACHED


@dataclass(frozen=True)
class SlaReport:
    """The SLA standing of one work order at one moment."""

    order_id: int | None
    response: TargetStatus
    resolution: TargetStatus

    def targets(self) -> tuple[TargetStatus, TargetStatus]:
        return (self.response, self.resolution)


def hold_intervals(order: WorkOrder, now: datetime) -> list[tuple[datetime, datetime]]:
    """Spans the order spent on hold, from its history; one still on hold runs until `now`.

    A hold ends with whatever action leaves on_hold (resume, but also resolve or cancel).
    """
    spans: list[tuple[datetime, datetime]] = []
    began: datetime | None = None
    for entry in sorted(order.history, key=lambda e: e.at):
        if entry.to_status is Status.ON_HOLD and began is None:
            began = entry.at
        elif entry.from_status is Status.ON_HOLD and began is not None:
            spans.append((began, entry.at))
            began = None
    if began is not None:
        spans.append((began, max(began, now)))
    return spans


def _paused_due(
    base_due: datetime, holds: list[tuple[datetime, datetime]], calendar: BusinessCalendar | None
) -> datetime:
    """The due moved later by each hold that began before it (a hold after a breach does not
    undo the breach). Holds are in order, so each is compared with the already-moved due."""
    due = base_due
    for began, ended in holds:
        if began >= due:
            break
        due = add_business_time(due, business_minutes_between(began, ended, calendar), calendar)
    return due


def _holds_before(order: WorkOrder, end: datetime) -> list[tuple[datetime, datetime]]:
    """Hold spans cut at `end`: a target's clock only cares about holds while it was running."""
    return [(began, min(ended, end)) for began, ended in hold_intervals(order, end) if began < end]


def _cancelled_at(order: WorkOrder) -> datetime | None:
    """When the order was cancelled: its SLA clock stops there."""
    if order.status is not Status.CANCELLED:
        return None
    times = [e.at for e in order.history if e.to_status is Status.CANCELLED]
    return max(times) if times else None


def _target_status(
    target: Target, order: WorkOrder, policy: SlaPolicy, base_due: datetime, now: datetime
) -> TargetStatus:
    """Judge one target: met or breached when done, else ok / due soon / breached by the clock."""
    done = order.acknowledged_at if target == "response" else order.resolved_at
    cal = policy.calendar
    stop = min(now, _cancelled_at(order) or now)
    end = done if done is not None else stop
    holds = _holds_before(order, end) if policy.pause_on_hold else []
    due = _paused_due(base_due, holds, cal)
    allowed = business_minutes_between(order.opened_at, base_due, cal)
    remaining = business_minutes_between(end, due, cal)
    fraction = 1.0 if allowed <= 0 else 1 - remaining / allowed
    overdue = max(0.0, -remaining)
    if done is not None:
        state = SlaState.MET if done <= due else SlaState.BREACHED
    elif end > due:
        state = SlaState.BREACHED
    else:
        state = SlaState.DUE_SOON if fraction >= policy.due_soon_fraction else SlaState.OK
    return TargetStatus(target, state, due, done, fraction, overdue)


def sla_status(order: WorkOrder, policy: SlaPolicy, now: datetime) -> SlaReport:
    """Response and resolution standing of `order` at `now`.

    The due times stored on the order (fixed when it was opened) are the promise; the policy
    supplies them only when the order has none. Response is met by `acknowledged_at`,
    resolution by `resolved_at`.
    """
    _require_aware(now, "now")
    response_due, resolve_due = due_times(policy, order.opened_at)
    return SlaReport(
        order.id,
        _target_status("response", order, policy, order.response_due or response_due, now),
        _target_status("resolution", order, policy, order.resolve_due or resolve_due, now),
    )


def _minutes_text(minutes: float) -> str:
    """'25 min' or '3 h 05 min': lateness people can read at a glance."""
    whole = round(minutes)
    if whole < 60:
        return f"{whole} min"
    return f"{whole // 60} h {whole % 60:02d} min"


def _escalation_note(target: Target) -> str:
    """The history note that marks a target's breach as handled (looked up to act only once)."""
    return f"{target} target breached"


def _already_escalated(order: WorkOrder, target: Target) -> bool:
    note = _escalation_note(target)
    return any(e.action == ESCALATE_ACTION and e.note.startswith(note) for e in order.history)


def _record_escalation(
    order: WorkOrder, status: TargetStatus, policy: SlaPolicy, now: datetime
) -> tuple[WorkOrder, str | None]:
    """Apply one breach: raise the priority, or compose a notification; log it either way."""
    lateness = _minutes_text(status.overdue_minutes)
    note = _escalation_note(status.target)
    priority, message = order.priority, None
    if policy.escalation == "raise_priority":
        priority = order.priority.raised()
        note += f" by {lateness}; priority {order.priority.value} → {priority.value}"
    else:
        name = f"work order {order.id}" if order.id is not None else "a new work order"
        message = f"{order.priority.value} {name} breached its {status.target} target by {lateness}"
        note += f" by {lateness}; notified"
    entry = HistoryEntry(now, SLA_ACTOR, ESCALATE_ACTION, order.status, order.status, note)
    changed = replace(order, priority=priority, version=order.version + 1,
                      history=(*order.history, entry))  # fmt: skip
    return changed, message


def escalate(
    order: WorkOrder, report: SlaReport, policy: SlaPolicy, now: datetime
) -> tuple[WorkOrder, list[str]]:
    """Act on breaches of an active order, once per breached target, as the policy says.

    Each handled breach is written to the history (actor "sla", action "escalate"), which is
    how a later call knows not to raise the priority again, nor to repeat the notification.
    Returns the order (unchanged when nothing was due) and the notification texts.
    """
    if policy.escalation is None or not order.status.is_active:
        return order, []
    messages: list[str] = []
    for status in report.targets():
        if status.completed_at is not None or not status.breached:
            continue
        if _already_escalated(order, status.target):
            continue
        order, message = _record_escalation(order, status, policy, now)
        messages.extend([message] if message else [])
    return order, messages


DEFAULT_POLICIES: tuple[SlaPolicy, ...] = (
    SlaPolicy(None, "P1 life safety", Priority.P1, None, 15, 240, escalation="notify"),
    SlaPolicy(None, "P2 urgent", Priority.P2, None, 60, 1440, escalation="raise_priority"),
    SlaPolicy(None, "P2 elevators", Priority.P2, "elevator", 30, 480),
    SlaPolicy(None, "P3 normal", Priority.P3, None, 240, 1800, BusinessCalendar(),
              pause_on_hold=True),
    SlaPolicy(None, "P4 planned", Priority.P4, None, 600, 6000, BusinessCalendar(),
              pause_on_hold=True),
)  # fmt: skip
"""Starting points that `facmon up` installs on a first start, for managers to change: around
the clock for P1 and P2 (stricter for lifts, where people get trapped), desk hours with the
clock paused on hold for P3 and P4."""
