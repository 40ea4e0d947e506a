"""The scheduled jobs of maintenance/: keep SLA states current, escalate, verify fixes.

Run every minute or so by the service that owns the database (`facmon api`); each job reads
the current orders, applies the pure rules (maintenance/sla.py, the desk) and stores changes.
A job never loses a person's change: it writes with the version it read, and a conflict simply
leaves that order for the next run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Protocol

from facility import DeviceForecast, ForecastRun
from maintenance.desk import Desk
from maintenance.domain import ACTIVE_STATUSES, WorkOrder
from maintenance.pm import EveryUsage, PlanState, PmPlan, WhenForecast, orders_to_generate
from maintenance.sla import SlaPolicy, SlaReport, SlaState, choose_policy, escalate, sla_status
from maintenance.store import (
    Notification,
    NotificationStore,
    OrderStore,
    PmPlanStore,
    VersionConflict,
    WorkOrderQuery,
)

__all__ = [
    "DeviceOutlook",
    "PmStore",
    "SlaSweep",
    "SweepStore",
    "generate_pm_orders",
    "outlooks_from",
    "sweep_sla",
]


class SweepStore(OrderStore, NotificationStore, Protocol):
    """What the SLA sweep reads and writes: orders, and notifications for the outbox."""


class PmStore(OrderStore, PmPlanStore, Protocol):
    """What PM generation reads and writes: plans, their generated orders, and those orders."""


@dataclass(frozen=True)
class SlaSweep:
    """What one run found: orders due soon, breached, escalated, and the texts of the
    notifications it put in the store's outbox (maintenance.outbox delivers them)."""

    due_soon: list[int]
    breached: list[int]
    escalated: list[int]
    notifications: list[str]


def sweep_sla(store: SweepStore, policies: Sequence[SlaPolicy], now: datetime) -> SlaSweep:
    """Judge every active order against its policy; escalate breaches as the policy says."""
    due_soon: list[int] = []
    breached: list[int] = []
    escalated: list[int] = []
    notes: list[str] = []
    for order in store.list_orders(WorkOrderQuery(status=ACTIVE_STATUSES, limit=1_000_000)):
        policy = choose_policy(policies, order.priority, order.kind)
        if policy is None or order.id is None:
            continue
        report = sla_status(order, policy, now)
        _sort(report, order.id, due_soon, breached)
        changed, found = escalate(order, report, policy, now)
        if changed.version == order.version:
            continue
        # Into the outbox before the order records the escalation: a crash in between sends
        # the notification twice (the next run escalates again), never not at all.
        outbox = [store.add_notification(Notification(None, order.id, text, now)) for text in found]
        try:
            store.update_order(changed, expected_version=order.version)
        except VersionConflict:  # someone acted on it meanwhile: judged again next run
            for notification in outbox:
                store.discard_notification(notification.id or 0)
            continue
        escalated.append(order.id)
        notes += found
    return SlaSweep(due_soon, breached, escalated, notes)


def _sort(report: SlaReport, order_id: int, due_soon: list[int], breached: list[int]) -> None:
    states = {target.state for target in report.targets()}
    if SlaState.BREACHED in states:
        breached.append(order_id)
    elif SlaState.DUE_SOON in states:
        due_soon.append(order_id)


@dataclass(frozen=True)
class DeviceOutlook:
    """What analytics knows of a device's use and condition: its usage meter (reading now and
    growth a day) and its health forecast (the metric and when it crosses its limit)."""

    meter: str | None = None
    reading: float | None = None
    per_day: float | None = None
    health_metric: str | None = None
    crossing: datetime | None = None


def outlooks_from(run: ForecastRun) -> dict[str, DeviceOutlook]:
    """Each device's outlook ("site/device") from analytics' latest forecasts."""
    return {f"{f.site}/{f.device}": _outlook(f) for f in run.devices}


def _outlook(forecast: DeviceForecast) -> DeviceOutlook:
    usage, health = forecast.usage, forecast.health
    outlook = DeviceOutlook()
    if usage is not None:
        outlook = DeviceOutlook(usage.meter, usage.reading, usage.per_day)
    if health is None:
        return outlook
    crossing_ms = health.crossing_ms
    crossing = None if crossing_ms is None else datetime.fromtimestamp(crossing_ms / 1000, UTC)
    return replace(outlook, health_metric=health.metric, crossing=crossing)


def generate_pm_orders(
    store: PmStore,
    desk: Desk,
    now: datetime,
    lead_days: float = 7.0,
    outlooks: Mapping[str, DeviceOutlook] | None = None,
) -> list[WorkOrder]:
    """Open the preventive-maintenance orders falling due within `lead_days`, once each.

    A plan's last service is when its latest order was resolved, and a plan whose previous
    order is still open waits for it (one open order per plan). Usage and condition plans of a
    device take its meter and forecast from `outlooks` ("site/device"); without one they wait.
    """
    generated = store.pm_orders()
    waiting = [plan for plan in store.pm_plans() if not _pending(store, plan, generated)]
    known = outlooks or {}
    states = [_state(plan, _last_done(store, plan, generated), now, known) for plan in waiting]
    opened = []
    for plan, due in orders_to_generate(states, set(generated), now, lead_days):
        where = {"site": plan.site, "device": plan.device, "kind": plan.kind}
        title = f"PM: {plan.name}"
        order = desk.open(title, plan.priority, "scheduler", due, **where, description=plan.task)
        store.record_pm_order(plan.id or 0, due, order.id or 0)
        opened.append(order)
    return opened


def _state(
    plan: PmPlan, last_done: datetime | None, now: datetime, outlooks: Mapping[str, DeviceOutlook]
) -> PlanState:
    """The plan with what is known of its device: meter use since the last service (estimated
    from the meter's rate; a plan never done is due now, as for time-based plans) and the
    forecast crossing."""
    outlook = outlooks.get(f"{plan.site}/{plan.device}", DeviceOutlook())
    trigger = plan.trigger
    if isinstance(trigger, EveryUsage) and outlook.meter == trigger.meter:
        reading, per_day = outlook.reading, outlook.per_day or 0.0
        if reading is None:
            return PlanState(plan, last_done)
        if last_done is None:
            return PlanState(plan, None, reading, reading - trigger.units, outlook.per_day)
        days = (now - last_done).total_seconds() / 86_400
        return PlanState(plan, last_done, reading, reading - per_day * days, outlook.per_day)
    if isinstance(trigger, WhenForecast) and outlook.health_metric == trigger.metric:
        return PlanState(plan, last_done, forecast_crossing=outlook.crossing)
    return PlanState(plan, last_done)


def _pending(store: OrderStore, plan: PmPlan, generated: dict[tuple[int, datetime], int]) -> bool:
    """The plan has an order not yet done."""
    return any(
        store.get_order(order_id).status.is_active
        for (plan_id, _), order_id in generated.items()
        if plan_id == plan.id
    )


def _last_done(
    store: OrderStore, plan: PmPlan, generated: dict[tuple[int, datetime], int]
) -> datetime | None:
    done = [
        store.get_order(order_id).resolved_at
        for (plan_id, _), order_id in generated.items()
        if plan_id == plan.id
    ]
    return max((d for d in done if d is not None), default=None)
