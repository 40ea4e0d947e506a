"""Planning routes: SLA policies and preventive-maintenance plans (CRUD), and the KPIs.

Managers and admins change policies and plans; everyone who reads work orders may read them.
KPIs are for managers (and viewers such as owners' representatives).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field, field_validator

from api.auth import ApiError, Caller, require
from api.kpi_cache import KpiCache, Period
from api.schemas import RecordId
from maintenance.domain import Priority
from maintenance.kpis import compute_kpis, compute_kpis_by
from maintenance.pm import EveryDays, EveryUsage, PmPlan, Trigger, WhenForecast
from maintenance.sla import BusinessCalendar, SlaPolicy
from maintenance.sql import SqlStore
from maintenance.store import AlertState, Role, Store, WorkOrderQuery

__all__ = ["kpis_in_database", "kpis_in_store", "planning_routes"]

Reader = Annotated[Caller, Depends(require(Role.VIEWER, Role.CREW, Role.MANAGER))]
Planner = Annotated[Caller, Depends(require(Role.MANAGER))]
KpiReader = Annotated[Caller, Depends(require(Role.VIEWER, Role.MANAGER))]


class BusinessHours(BaseModel):
    weekdays: list[Annotated[int, Field(ge=0, le=6)]] = Field(
        default=[0, 1, 2, 3, 4], description="0 = Monday"
    )
    opens: time = time(8)
    closes: time = time(18)
    holidays: list[date] = []

    @field_validator("opens", "closes")
    @classmethod
    def local_time(cls, value: time) -> time:
        """Opening hours are the building's local clock times: no zone offset."""
        if value.tzinfo is not None:
            raise ValueError("give opening hours as local times without a zone, e.g. 08:00")
        return value


class PolicyBody(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    priority: Priority
    kind: str | None = None
    response_minutes: float = Field(gt=0, le=525_600)  # at most a year
    resolve_minutes: float = Field(gt=0, le=5_256_000)  # at most ten years
    business_hours: BusinessHours | None = None
    pause_on_hold: bool = False
    due_soon_fraction: float = Field(default=0.8, gt=0, le=1)
    escalation: Literal["raise_priority", "notify"] | None = None


class PlanBody(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    kind: str
    task: str = ""
    site: str | None = None
    device: str | None = None
    priority: Priority = Priority.P3
    every_days: int | None = Field(default=None, gt=0, le=36_500)
    first_due: datetime | None = None  # with every_days: the first visit (default: now)
    meter: str | None = None
    every_units: float | None = Field(default=None, gt=0, le=1e12)
    forecast_metric: str | None = None
    within_days: int | None = Field(default=None, ge=0, le=3650)


def _policy(body: PolicyBody, policy_id: int | None) -> SlaPolicy:
    """The policy a body describes; a contradiction (opening after closing...) is a 422."""
    hours = body.business_hours
    try:
        calendar = None if hours is None else BusinessCalendar(
            frozenset(hours.weekdays), hours.opens, hours.closes, frozenset(hours.holidays)
        )  # fmt: skip
        return SlaPolicy(policy_id, body.name, body.priority, body.kind, body.response_minutes,
                         body.resolve_minutes, calendar, body.pause_on_hold,
                         body.due_soon_fraction, body.escalation)  # fmt: skip
    except ValueError as error:
        raise ApiError(422, "invalid_request", str(error)) from error


def _policy_out(policy: SlaPolicy) -> dict[str, Any]:
    calendar = policy.calendar
    hours = (
        None
        if calendar is None
        else {
            "weekdays": sorted(calendar.weekdays),
            "opens": calendar.opens.isoformat(),
            "closes": calendar.closes.isoformat(),
            "holidays": sorted(d.isoformat() for d in calendar.holidays),
        }
    )
    return {
        "id": policy.id,
        "name": policy.name,
        "priority": policy.priority,
        "kind": policy.kind,
        "response_minutes": policy.response_minutes,
        "resolve_minutes": policy.resolve_minutes,
        "business_hours": hours,
        "pause_on_hold": policy.pause_on_hold,
        "due_soon_fraction": policy.due_soon_fraction,
        "escalation": policy.escalation,
    }


def _trigger(body: PlanBody) -> Trigger:
    if body.first_due is not None and body.every_days is None:
        raise ApiError(422, "invalid_request", "first_due goes with every_days (a calendar plan)")
    if body.every_days is not None:
        first_due = _aware(body.first_due).astimezone(UTC) if body.first_due else None
        return EveryDays(body.every_days, first_due)
    if body.meter is not None and body.every_units is not None:
        return EveryUsage(body.meter, body.every_units)
    if body.forecast_metric is not None and body.within_days is not None:
        return WhenForecast(body.forecast_metric, body.within_days)
    raise ApiError(422, "invalid_request", "give every_days, or meter and every_units, "
                   "or forecast_metric and within_days")  # fmt: skip


def _plan_out(plan: PmPlan) -> dict[str, Any]:
    trigger: dict[str, Any] = {}
    if isinstance(plan.trigger, EveryDays):
        first_due = plan.trigger.first_due
        trigger = {"every_days": plan.trigger.days,
                   "first_due": first_due.isoformat() if first_due else None}  # fmt: skip
    elif isinstance(plan.trigger, EveryUsage):
        trigger = {"meter": plan.trigger.meter, "every_units": plan.trigger.units}
    else:
        trigger = {"forecast_metric": plan.trigger.metric, "within_days": plan.trigger.within_days}
    return {
        "id": plan.id,
        "name": plan.name,
        "kind": plan.kind,
        "task": plan.task,
        "site": plan.site,
        "device": plan.device,
        "priority": plan.priority,
        **trigger,
    }


def planning_routes(router: APIRouter, store: Store, kpis: KpiCache | None = None) -> None:
    """The routes; KPIs from `kpis` when given, else computed from `store` in a thread."""
    _policy_routes(router, store)
    _plan_routes(router, store)
    _kpi_routes(router, kpis or KpiCache(partial(kpis_in_store, store)))


def _policy_routes(router: APIRouter, store: Store) -> None:
    @router.get("/sla-policies")
    def list_policies(_: Reader) -> list[dict[str, Any]]:
        """SLA policies. Roles: viewer, crew, manager, admin."""
        return [_policy_out(p) for p in store.sla_policies()]

    @router.post("/sla-policies", status_code=201)
    def add_policy(body: PolicyBody, _: Planner) -> dict[str, Any]:
        """Add an SLA policy. Roles: manager, admin."""
        return _policy_out(store.add_sla_policy(_policy(body, None)))

    @router.put("/sla-policies/{policy_id}")
    def change_policy(policy_id: RecordId, body: PolicyBody, _: Planner) -> dict[str, Any]:
        """Replace an SLA policy (applies to orders opened from now on). Roles: manager, admin."""
        store.get_sla_policy(policy_id)
        return _policy_out(store.update_sla_policy(_policy(body, policy_id)))

    @router.delete("/sla-policies/{policy_id}", status_code=204)
    def delete_policy(policy_id: RecordId, _: Planner) -> Response:
        """Delete an SLA policy. Roles: manager, admin."""
        store.delete_sla_policy(policy_id)
        return Response(status_code=204)


def _plan_routes(router: APIRouter, store: Store) -> None:
    @router.get("/pm-plans")
    def list_plans(_: Reader, site: str | None = None) -> list[dict[str, Any]]:
        """Preventive-maintenance plans. Roles: viewer, crew, manager, admin."""
        return [_plan_out(p) for p in store.pm_plans(site)]

    @router.post("/pm-plans", status_code=201)
    def add_plan(body: PlanBody, _: Planner) -> dict[str, Any]:
        """Add a PM plan. Roles: manager, admin."""
        plan = PmPlan(None, body.name, body.site, body.device, body.kind, body.task,
                      _trigger(body), body.priority)  # fmt: skip
        return _plan_out(store.add_pm_plan(plan))

    @router.put("/pm-plans/{plan_id}")
    def change_plan(plan_id: RecordId, body: PlanBody, _: Planner) -> dict[str, Any]:
        """Replace a PM plan. Roles: manager, admin."""
        current = store.get_pm_plan(plan_id)
        plan = replace(current, name=body.name, site=body.site, device=body.device, kind=body.kind,
                       task=body.task, trigger=_trigger(body), priority=body.priority)  # fmt: skip
        return _plan_out(store.update_pm_plan(plan))

    @router.delete("/pm-plans/{plan_id}", status_code=204)
    def delete_plan(plan_id: RecordId, _: Planner) -> Response:
        """Delete a PM plan. Roles: manager, admin."""
        store.delete_pm_plan(plan_id)
        return Response(status_code=204)


def kpis_in_store(store: Store, period: Period) -> dict[str, Any]:
    """A period's KPIs (None: the 30 days up to now), overall, per site and per kind."""
    return _compute_kpis(store, *(period or _last_30_days()))


def kpis_in_database(url: str, period: Period) -> dict[str, Any]:
    """kpis_in_store for a process of its own: it opens the database once and keeps it."""
    if url not in _databases:
        _databases[url] = SqlStore(url)
    return kpis_in_store(_databases[url], period)


_databases: dict[str, SqlStore] = {}  # per process: the KPI worker's connection pool


def _kpi_routes(router: APIRouter, cache: KpiCache) -> None:

    @router.get("/kpis")
    def kpis(
        _: KpiReader,
        start: Annotated[datetime | None, Query(alias="from")] = None,
        end: Annotated[datetime | None, Query(alias="to")] = None,
    ) -> dict[str, Any]:
        """KPIs for [from, to) (default: the last 30 days), overall, per site and per kind.
        A period's answer is recomputed in the background once it is a minute old, so it may
        be up to a few minutes behind (`computed_s_ago`). Roles: viewer, manager, admin."""
        if start is None and end is None:  # the dashboards' question, kept as one period
            return cache.get(None)
        end = _aware(end) if end else _to_minute(datetime.now(UTC))
        start = _aware(start) if start else end - timedelta(days=30)
        if start >= end:
            raise ApiError(422, "invalid_request", "'from' must be before 'to'")
        return cache.get((_to_minute(start), _to_minute(end)))  # to the minute: one period

    @router.get("/kpis/trend")
    def trend(_: KpiReader, weeks: Annotated[int, Query(ge=1, le=52)] = 12) -> list[dict[str, Any]]:
        """Overall KPIs per week (7-day periods ending at the current hour), oldest first,
        without the per-device and per-kind MTBF maps. Roles: viewer, manager, admin."""
        end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        weekly = [(end - timedelta(weeks=n + 1), end - timedelta(weeks=n))
                  for n in reversed(range(weeks))]  # fmt: skip
        return [_trend_point(cache.get(period)) for period in weekly]


def _compute_kpis(store: Store, start: datetime, end: datetime) -> dict[str, Any]:
    """Only orders that matter for the period are loaded: open ones and those touched since."""
    query = WorkOrderQuery(touched_since=start, limit=10_000_000)
    orders = [o for o in store.list_orders(query) if o.opened_at < end]
    outcomes = _alert_outcomes(store)
    planned = set(store.pm_orders().values())
    policies = store.sla_policies()
    overall = compute_kpis(orders, start, end, outcomes, planned, policies=policies)
    return {
        "from": start.isoformat(), "to": end.isoformat(),
        "overall": overall.as_dict(),
        "by_site": _by(orders, lambda o: o.site or "-", start, end, planned, policies),
        "by_kind": _by(orders, lambda o: o.kind or "-", start, end, planned, policies),
    }  # fmt: skip


def _by(
    orders: list[Any],
    key: Any,
    start: datetime,
    end: datetime,
    planned: set[int],
    policies: list[SlaPolicy],
) -> dict[str, Any]:
    by = compute_kpis_by(orders, key, start, end, planned, policies)
    return {name: kpis.as_dict() for name, kpis in by.items()}


def _alert_outcomes(store: Store) -> list[tuple[datetime, str]]:
    """What people said about alerts: confirmed (acknowledged) or dismissed."""
    said = {AlertState.ACKNOWLEDGED: "confirmed", AlertState.DISMISSED: "dismissed"}
    return [(a.updated_at, said[a.state]) for state in said for a in store.list_alerts(state)]


def _trend_point(found: dict[str, Any]) -> dict[str, Any]:
    overall = {k: v for k, v in found["overall"].items() if not k.startswith("mtbf_hours_by")}
    return {"from": found["from"], "to": found["to"], **overall}


def _last_30_days() -> tuple[datetime, datetime]:
    end = datetime.now(UTC)  # to the moment: an order opened a second ago counts
    return end - timedelta(days=30), end


def _to_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
