"""Request and response bodies of the planning routes: SLA policies, PM plans and KPIs."""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.moments import Moment
from api.schemas import Number
from maintenance import EveryDays, EveryUsage, PmPlan, Priority, SlaPolicy

__all__ = [
    "BusinessHours",
    "BusinessHoursOut",
    "KpiFigures",
    "KpiPeriod",
    "KpiReportOut",
    "KpiTrendPoint",
    "KpisOut",
    "PlanBody",
    "PlanOut",
    "PolicyBody",
    "PolicyOut",
    "plan_out",
    "policy_out",
]


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


class BusinessHoursOut(BaseModel):
    weekdays: list[int]
    opens: str  # local clock time, "08:00:00"
    closes: str
    holidays: list[str]  # ISO dates


class PolicyOut(BaseModel):
    id: int | None
    name: str
    priority: Priority
    kind: str | None
    response_minutes: Number
    resolve_minutes: Number
    business_hours: BusinessHoursOut | None
    pause_on_hold: bool
    due_soon_fraction: Number
    escalation: str | None


class PlanBody(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    kind: str
    task: str = ""
    site: str | None = None
    device: str | None = None
    priority: Priority = Priority.P3
    every_days: int | None = Field(default=None, gt=0, le=36_500)
    first_due: Moment | None = None  # with every_days: the first visit (default: now)
    meter: str | None = None
    every_units: float | None = Field(default=None, gt=0, le=1e12)
    forecast_metric: str | None = None
    within_days: int | None = Field(default=None, ge=0, le=3650)


class PlanOut(BaseModel):
    """A plan with the fields of its one trigger: every_days and first_due, or meter and
    every_units, or forecast_metric and within_days (the others are left out)."""

    id: int | None
    name: str
    kind: str
    task: str
    site: str | None
    device: str | None
    priority: Priority
    every_days: int | None = None
    first_due: str | None = None  # ISO 8601
    meter: str | None = None
    every_units: Number | None = None
    forecast_metric: str | None = None
    within_days: int | None = None


class KpiFigures(BaseModel):
    """One period's figures (maintenance/kpis.py Kpis) but the MTBF maps and alert counts,
    which the report and the trend put in different places."""

    start: str
    end: str
    orders_opened: int
    mtta_minutes: Number | None
    mttr_minutes: Number | None
    response_compliance_pct: Number | None
    response_judged: int
    resolution_compliance_pct: Number | None
    resolution_judged: int
    backlog_total: int
    backlog_by_age: dict[str, int]
    backlog_by_priority: dict[str, int]
    pm_compliance_pct: Number | None
    pm_judged: int
    corrective_orders: int
    repeat_failure_pct: Number | None


class KpisOut(KpiFigures):
    mtbf_hours_by_device: dict[str, Number]
    mtbf_hours_by_kind: dict[str, Number]
    alerts_confirmed: int
    alerts_dismissed: int


class KpiPeriod(BaseModel):
    """[from, to) of a KPI answer ("from" is a Python keyword, hence the alias)."""

    model_config = ConfigDict(populate_by_name=True)

    from_: str = Field(alias="from")
    to: str


class KpiReportOut(KpiPeriod):
    overall: KpisOut
    by_site: dict[str, KpisOut]
    by_kind: dict[str, KpisOut]
    computed_s_ago: float


class KpiTrendPoint(KpiFigures, KpiPeriod):  # the period's fields first
    alerts_confirmed: int
    alerts_dismissed: int


def policy_out(policy: SlaPolicy) -> PolicyOut:
    calendar = policy.calendar
    hours = None if calendar is None else BusinessHoursOut(
        weekdays=sorted(calendar.weekdays), opens=calendar.opens.isoformat(),
        closes=calendar.closes.isoformat(),
        holidays=sorted(d.isoformat() for d in calendar.holidays),
    )  # fmt: skip
    return PolicyOut(id=policy.id, name=policy.name, priority=policy.priority, kind=policy.kind,
                     response_minutes=policy.response_minutes,
                     resolve_minutes=policy.resolve_minutes, business_hours=hours,
                     pause_on_hold=policy.pause_on_hold,
                     due_soon_fraction=policy.due_soon_fraction,
                     escalation=policy.escalation)  # fmt: skip


def plan_out(plan: PmPlan) -> PlanOut:
    """Only the trigger's own fields are set: the routes leave unset ones out of the JSON."""
    trigger: dict[str, Any]
    if isinstance(plan.trigger, EveryDays):
        first_due = plan.trigger.first_due
        trigger = {"every_days": plan.trigger.days,
                   "first_due": first_due.isoformat() if first_due else None}  # fmt: skip
    elif isinstance(plan.trigger, EveryUsage):
        trigger = {"meter": plan.trigger.meter, "every_units": plan.trigger.units}
    else:
        trigger = {"forecast_metric": plan.trigger.metric, "within_days": plan.trigger.within_days}
    return PlanOut(id=plan.id, name=plan.name, kind=plan.kind, task=plan.task, site=plan.site,
                   device=plan.device, priority=plan.priority, **trigger)  # fmt: skip
