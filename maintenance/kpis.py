"""Service KPIs for a period [start, end): response and repair times, SLA and PM compliance,
backlog, failures. Pure: work orders in, figures out.

Each order is counted in the period where its event happened (acknowledged, resolved, due,
opened), so the figures for a closed period do not change when later periods are computed.
Times are calendar minutes, not business minutes: this is what the tenant experienced.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from statistics import fmean
from typing import Any

from maintenance.domain import Priority, Status, WorkOrder
from maintenance.pm import pm_compliance
from maintenance.sla import SlaPolicy, choose_policy, sla_status

__all__ = [
    "AGE_BUCKETS",
    "Kpis",
    "compute_kpis",
    "compute_kpis_by",
    "device_key",
    "status_at",
]

_MINUTE = timedelta(minutes=1)
_DAY = timedelta(days=1)
_HOUR = timedelta(hours=1)
ALERT_OUTCOMES = ("confirmed", "dismissed")

AGE_BUCKETS: tuple[tuple[str, timedelta], ...] = (
    ("<1d", _DAY),
    ("1-3d", 3 * _DAY),
    ("3-7d", 7 * _DAY),
    (">7d", timedelta.max),
)
"""Backlog age buckets: label and exclusive upper bound of the order's age."""


@dataclass(frozen=True)
class Kpis:
    """The service figures of one period. None where there was nothing to measure (no order
    resolved, nothing due): a 0 % or 100 % there would be a made-up figure.

    Percentages are 0-100. MTBF is in hours, per device ("site/device") and per equipment kind.
    """

    start: datetime
    end: datetime
    orders_opened: int
    mtta_minutes: float | None
    mttr_minutes: float | None
    response_compliance_pct: float | None
    response_judged: int
    resolution_compliance_pct: float | None
    resolution_judged: int
    backlog_total: int
    backlog_by_age: Mapping[str, int]
    backlog_by_priority: Mapping[str, int]
    pm_compliance_pct: float | None
    pm_judged: int
    corrective_orders: int
    repeat_failure_pct: float | None
    mtbf_hours_by_device: Mapping[str, float] = field(default_factory=dict)
    mtbf_hours_by_kind: Mapping[str, float] = field(default_factory=dict)
    alerts_confirmed: int = 0
    alerts_dismissed: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values: ISO 8601 datetimes, dicts, numbers and None."""
        data = asdict(self)
        data["start"] = self.start.isoformat()
        data["end"] = self.end.isoformat()
        for name in ("backlog_by_age", "backlog_by_priority"):
            data[name] = dict(data[name])
        return data


def device_key(order: WorkOrder) -> str | None:
    """How a device is named in the KPIs: device ids are unique within a site only."""
    if order.device is None:
        return None
    return f"{order.site}/{order.device}" if order.site else order.device


def _within(moment: datetime | None, start: datetime, end: datetime) -> bool:
    return moment is not None and start <= moment < end


def _mean_minutes(spans: Iterable[timedelta]) -> float | None:
    values = [span / _MINUTE for span in spans]
    return fmean(values) if values else None


def _percent(hits: int, total: int) -> float | None:
    return None if total == 0 else 100.0 * hits / total


def _mtta(orders: Sequence[WorkOrder], start: datetime, end: datetime) -> float | None:
    """Mean opened → acknowledged of orders acknowledged in the period."""
    return _mean_minutes(
        o.acknowledged_at - o.opened_at
        for o in orders
        if o.acknowledged_at is not None and _within(o.acknowledged_at, start, end)
    )


def _mttr(orders: Sequence[WorkOrder], start: datetime, end: datetime) -> float | None:
    """Mean opened → resolved of orders resolved in the period."""
    return _mean_minutes(
        o.resolved_at - o.opened_at
        for o in orders
        if o.resolved_at is not None and _within(o.resolved_at, start, end)
    )


def _judgement(
    due: datetime | None, done: datetime | None, start: datetime, end: datetime
) -> bool | None:
    """Met (True), missed (False) or not judged in this period (None).

    A target met on time counts where it was met; a missed one where its deadline fell. So an
    order is judged exactly once, and a deadline still ahead is not judged yet.
    """
    if due is None:
        return None
    on_time = done is not None and done <= due
    if on_time:
        return True if _within(done, start, end) else None
    return False if _within(due, start, end) else None


def _sla_compliance(
    orders: Sequence[WorkOrder], start: datetime, end: datetime, policies: Sequence[SlaPolicy]
) -> tuple[tuple[float | None, int], tuple[float | None, int]]:
    """(% met on time, number judged) for response and for resolution; cancelled work was not
    owed to anyone."""
    response: list[bool | None] = []
    resolution: list[bool | None] = []
    for order in orders:
        if order.status is Status.CANCELLED:
            continue
        response_due, resolve_due = promised_dues(order, policies, end)
        response.append(_judgement(response_due, order.acknowledged_at, start, end))
        resolution.append(_judgement(resolve_due, order.resolved_at, start, end))
    return _on_time(response), _on_time(resolution)


def _on_time(verdicts: list[bool | None]) -> tuple[float | None, int]:
    judged = [v for v in verdicts if v is not None]
    return _percent(sum(judged), len(judged)), len(judged)


def promised_dues(
    order: WorkOrder, policies: Sequence[SlaPolicy], now: datetime
) -> tuple[datetime | None, datetime | None]:
    """The order's response and resolve due times as its SLA clock stands at `now`: the stored
    ones, moved later by time on hold where the order's policy pauses the clock (as the crews'
    queue shows them), so a KPI never calls late what the queue called on time."""
    if not any(entry.to_status is Status.ON_HOLD for entry in order.history):
        return order.response_due, order.resolve_due  # the common case, and cheap to tell
    policy = choose_policy(policies, order.priority, order.kind)
    if policy is None or not policy.pause_on_hold:
        return order.response_due, order.resolve_due
    report = sla_status(order, policy, now)
    return (
        report.response.due if order.response_due else None,
        report.resolution.due if order.resolve_due else None,
    )


def status_at(order: WorkOrder, moment: datetime) -> Status | None:
    """The order's status at `moment` from its history; None if not yet opened.

    Orders without history (imported, or built by hand) are taken at their current status,
    except that a resolution after `moment` means it was still being worked on.
    """
    if order.opened_at > moment:
        return None
    if order.history:
        passed = [e for e in sorted(order.history, key=lambda e: e.at) if e.at <= moment]
        return passed[-1].to_status if passed else Status.OPEN
    if order.resolved_at is not None and order.resolved_at > moment:
        return Status.IN_PROGRESS
    return order.status


def _backlog(orders: Sequence[WorkOrder], end: datetime) -> list[WorkOrder]:
    active = []
    for order in orders:
        status = status_at(order, end)
        if status is not None and status.is_active:
            active.append(order)
    return active


def _age_bucket(age: timedelta) -> str:
    return next(label for label, upper in AGE_BUCKETS if age < upper)


def _backlog_counts(
    backlog: Sequence[WorkOrder], end: datetime
) -> tuple[dict[str, int], dict[str, int]]:
    """Backlog by age bucket and by priority; every bucket and priority present, zeros too."""
    by_age = dict.fromkeys((label for label, _ in AGE_BUCKETS), 0)
    by_priority = dict.fromkeys((p.value for p in Priority), 0)
    for order in backlog:
        by_age[_age_bucket(end - order.opened_at)] += 1
        by_priority[order.priority.value] += 1
    return by_age, by_priority


def _pm_figures(
    orders: Sequence[WorkOrder], pm_ids: AbstractSet[int], start: datetime, end: datetime
) -> tuple[float | None, int]:
    """PM orders due in the period: share completed (resolved) by their due date."""
    pairs = [
        (o.resolve_due, o.resolved_at)
        for o in orders
        if o.id in pm_ids and o.resolve_due is not None and _within(o.resolve_due, start, end)
    ]
    return (pm_compliance(pairs) if pairs else None), len(pairs)


def _mtbf(
    failures: Sequence[WorkOrder], hours: float, fleet: Mapping[str, str]
) -> tuple[dict[str, float], dict[str, float]]:
    """Operating hours ÷ failures, per device and per kind (kind hours = its devices × period).

    Devices without a failure in the period have no MTBF entry; they still add operating hours
    to their kind.
    """
    per_device: dict[str, int] = defaultdict(int)
    per_kind: dict[str, int] = defaultdict(int)
    for order in failures:
        key = device_key(order)
        if key is not None:
            per_device[key] += 1
        if order.kind is not None:
            per_kind[order.kind] += 1
    devices_of_kind: dict[str, int] = defaultdict(int)
    for kind in fleet.values():
        devices_of_kind[kind] += 1
    by_device = {key: hours / n for key, n in sorted(per_device.items())}
    by_kind = {
        kind: hours * max(1, devices_of_kind[kind]) / n for kind, n in sorted(per_kind.items())
    }
    return by_device, by_kind


def _fleet_from(orders: Sequence[WorkOrder]) -> dict[str, str]:
    """Devices known from the orders themselves, when no fleet register is given."""
    return {
        key: order.kind
        for order in orders
        if (key := device_key(order)) is not None and order.kind is not None
    }


def _alert_counts(
    outcomes: Sequence[tuple[datetime, str]], start: datetime, end: datetime
) -> tuple[int, int]:
    """(confirmed, dismissed) alerts in the period."""
    counts = dict.fromkeys(ALERT_OUTCOMES, 0)
    for at, outcome in outcomes:
        if outcome not in counts:
            raise ValueError(f"alert outcome must be one of {ALERT_OUTCOMES}, got {outcome!r}")
        if _within(at, start, end):
            counts[outcome] += 1
    return counts["confirmed"], counts["dismissed"]


def _check_period(start: datetime, end: datetime) -> None:
    for name, moment in (("start", start), ("end", end)):
        if moment.tzinfo is None:
            raise ValueError(f"{name} must be timezone-aware (UTC)")
    if end <= start:
        raise ValueError(f"end ({end.isoformat()}) must be after start ({start.isoformat()})")


def compute_kpis(
    orders: Sequence[WorkOrder],
    start: datetime,
    end: datetime,
    alert_outcomes: Sequence[tuple[datetime, str]] = (),
    pm_order_ids: AbstractSet[int] = frozenset(),
    fleet: Mapping[str, str] | None = None,
    policies: Sequence[SlaPolicy] = (),
) -> Kpis:
    """The KPIs of `orders` for the period [start, end).

    PM orders (ids in `pm_order_ids`) have their own compliance and are left out of MTTA,
    MTTR and SLA compliance: they are opened ahead of time, so open → done is lead time.
    Failures are corrective orders opened from an alert (alert_signature set) in the period.
    `fleet` maps device key (see device_key) → kind, so that devices that did not fail still
    count in their kind's operating hours; without it, the devices named on the orders count.
    Backlog is the orders active at `end`, by status reconstructed from their history.
    SLA compliance judges each order against its stored due times, paused for time on hold
    when its policy (chosen from `policies` as for the live SLA clock) says so.
    """
    _check_period(start, end)
    reactive = [o for o in orders if o.id not in pm_order_ids]
    corrective = [o for o in orders if o.alert_signature and _within(o.opened_at, start, end)]
    (response_pct, response_n), (resolution_pct, resolution_n) = _sla_compliance(
        reactive, start, end, policies
    )
    backlog = _backlog(orders, end)
    by_age, by_priority = _backlog_counts(backlog, end)
    pm_pct, pm_n = _pm_figures(orders, pm_order_ids, start, end)
    hours = (end - start) / _HOUR
    by_device, by_kind = _mtbf(corrective, hours, fleet or _fleet_from(orders))
    confirmed, dismissed = _alert_counts(alert_outcomes, start, end)
    repeats = sum(1 for o in corrective if o.repeat_of is not None)
    return Kpis(
        start=start,
        end=end,
        orders_opened=sum(1 for o in orders if _within(o.opened_at, start, end)),
        mtta_minutes=_mtta(reactive, start, end),
        mttr_minutes=_mttr(reactive, start, end),
        response_compliance_pct=response_pct,
        response_judged=response_n,
        resolution_compliance_pct=resolution_pct,
        resolution_judged=resolution_n,
        backlog_total=len(backlog),
        backlog_by_age=by_age,
        backlog_by_priority=by_priority,
        pm_compliance_pct=pm_pct,
        pm_judged=pm_n,
        corrective_orders=len(corrective),
        repeat_failure_pct=_percent(repeats, len(corrective)),
        mtbf_hours_by_device=by_device,
        mtbf_hours_by_kind=by_kind,
        alerts_confirmed=confirmed,
        alerts_dismissed=dismissed,
    )


def compute_kpis_by(
    orders: Sequence[WorkOrder],
    key: Callable[[WorkOrder], str],
    start: datetime,
    end: datetime,
    pm_order_ids: AbstractSet[int] = frozenset(),
    policies: Sequence[SlaPolicy] = (),
) -> dict[str, Kpis]:
    """compute_kpis for each group of orders (by site, by kind...), keyed by `key(order)`.

    Alert outcomes carry no site or kind, so they are not split here (their counts are 0);
    MTBF per kind counts the devices named on each group's orders.
    """
    groups: dict[str, list[WorkOrder]] = defaultdict(list)
    for order in orders:
        groups[key(order)].append(order)
    return {
        name: compute_kpis(group, start, end, pm_order_ids=pm_order_ids, policies=policies)
        for name, group in sorted(groups.items())
    }
