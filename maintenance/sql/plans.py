"""Preventive-maintenance plans (their trigger flattened into columns) and generated orders."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select

from maintenance.pm import EveryDays, EveryUsage, PmPlan, Trigger, WhenForecast
from maintenance.sql.base import Sessions, inserted, require, values_of
from maintenance.sql.schema import PmOrderRow, PmPlanRow, WorkOrderRow
from maintenance.store import NotFound

__all__ = ["SqlPmPlans"]


class SqlPmPlans(Sessions):
    """PM plans and the orders generated for them (PmPlanStore)."""

    def add_pm_plan(self, plan: PmPlan) -> PmPlan:
        with self._write() as session:
            return replace(plan, id=inserted(session, PmPlanRow(**_plan_values(plan))).id)

    def get_pm_plan(self, plan_id: int) -> PmPlan:
        with self._read() as session:
            return _plan(require(session, PmPlanRow, plan_id))

    def pm_plans(self, site: str | None = None) -> list[PmPlan]:
        """Plans in the order they were added; with `site`, that site's and the kind-wide ones."""
        statement = select(PmPlanRow).order_by(PmPlanRow.id)
        if site is not None:
            statement = statement.where((PmPlanRow.site == site) | PmPlanRow.site.is_(None))
        with self._read() as session:
            return [_plan(row) for row in session.scalars(statement)]

    def update_pm_plan(self, plan: PmPlan) -> PmPlan:
        if plan.id is None:
            raise NotFound("a PM plan without an id was never stored: use add_pm_plan")
        with self._write() as session:
            row = require(session, PmPlanRow, plan.id)
            for name, value in _plan_values(plan).items():
                setattr(row, name, value)
        return plan

    def delete_pm_plan(self, plan_id: int) -> None:
        """Delete a plan; the work orders it generated stay (only their link goes)."""
        with self._write() as session:
            session.execute(delete(PmOrderRow).where(PmOrderRow.plan_id == plan_id))
            session.delete(require(session, PmPlanRow, plan_id))

    def record_pm_order(self, plan_id: int, due_at: datetime, work_order_id: int) -> None:
        """Remember that `work_order_id` is the job for `plan_id` due at `due_at`."""
        with self._write() as session:
            require(session, PmPlanRow, plan_id)
            require(session, WorkOrderRow, work_order_id)
            session.add(PmOrderRow(plan_id=plan_id, due_at=due_at, work_order_id=work_order_id))

    def pm_orders(self) -> dict[tuple[int, datetime], int]:
        """(plan id, due date) -> work order id: pm.orders_to_generate's `existing_due`."""
        with self._read() as session:
            rows = session.execute(select(PmOrderRow.plan_id, PmOrderRow.due_at,
                                          PmOrderRow.work_order_id))  # fmt: skip
            return {(plan, due): order for plan, due, order in rows}


def _plan_values(plan: PmPlan) -> dict[str, Any]:
    values = {k: v for k, v in values_of(plan).items() if k != "trigger"}
    trigger = plan.trigger
    columns = dict.fromkeys(("every_days", "first_due", "meter", "units", "metric", "within_days"))
    if isinstance(trigger, EveryDays):
        calendar = {"every_days": trigger.days, "first_due": trigger.first_due}
        return values | columns | {"trigger": "every_days"} | calendar
    if isinstance(trigger, EveryUsage):
        usage = {"meter": trigger.meter, "units": trigger.units}
        return values | columns | {"trigger": "every_usage"} | usage
    forecast = {"metric": trigger.metric, "within_days": trigger.within_days}
    return values | columns | {"trigger": "when_forecast"} | forecast


def _plan(row: PmPlanRow) -> PmPlan:
    trigger: Trigger
    if row.trigger == "every_days" and row.every_days is not None:
        trigger = EveryDays(row.every_days, row.first_due)
    elif row.trigger == "every_usage" and row.meter is not None and row.units is not None:
        trigger = EveryUsage(row.meter, row.units)
    elif row.trigger == "when_forecast" and row.metric is not None and row.within_days is not None:
        trigger = WhenForecast(row.metric, row.within_days)
    else:
        raise ValueError(f"PM plan {row.id}: trigger {row.trigger!r} lacks its columns")
    return PmPlan(row.id, row.name, row.site, row.device, row.kind, row.task, trigger, row.priority)
