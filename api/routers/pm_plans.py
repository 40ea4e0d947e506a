"""/pm-plans: managers keep the preventive-maintenance plans; readers of work orders read them.
Which trigger a body describes is maintenance's rule (an unclear one is a 422)."""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter, Response

from api.auth import Manager, Reader
from api.planning_schemas import PlanBody, PlanOut, plan_out
from api.routers.common import API_PREFIX, errors
from api.schemas import RecordId
from maintenance import PmPlan, Store, Trigger, pm_trigger

__all__ = ["pm_plans_router"]


def pm_plans_router(store: Store) -> APIRouter:
    """The PM plan routes over the store. A plan shows only its own trigger's fields."""
    router = APIRouter(prefix=API_PREFIX, tags=["PM plans"], responses=errors(404, 409))

    @router.get("/pm-plans", response_model=list[PlanOut], response_model_exclude_unset=True)
    def list_plans(_: Reader, site: str | None = None) -> list[PlanOut]:
        """Preventive-maintenance plans. Roles: viewer, crew, manager, admin."""
        return [plan_out(p) for p in store.pm_plans(site)]

    @router.post("/pm-plans", status_code=201, response_model=PlanOut,
                 response_model_exclude_unset=True)  # fmt: skip
    def add_plan(body: PlanBody, _: Manager) -> PlanOut:
        """Add a PM plan. Roles: manager, admin."""
        plan = PmPlan(None, body.name, body.site, body.device, body.kind, body.task,
                      _trigger(body), body.priority)  # fmt: skip
        return plan_out(store.add_pm_plan(plan))

    @router.put("/pm-plans/{plan_id}", response_model=PlanOut, response_model_exclude_unset=True)
    def change_plan(plan_id: RecordId, body: PlanBody, _: Manager) -> PlanOut:
        """Replace a PM plan. Roles: manager, admin."""
        current = store.get_pm_plan(plan_id)
        plan = replace(current, name=body.name, site=body.site, device=body.device, kind=body.kind,
                       task=body.task, trigger=_trigger(body), priority=body.priority)  # fmt: skip
        return plan_out(store.update_pm_plan(plan))

    @router.delete("/pm-plans/{plan_id}", status_code=204, response_class=Response)
    def delete_plan(plan_id: RecordId, _: Manager) -> Response:
        """Delete a PM plan. Roles: manager, admin."""
        store.delete_pm_plan(plan_id)
        return Response(status_code=204)

    return router


def _trigger(body: PlanBody) -> Trigger:
    return pm_trigger(body.every_days, body.first_due, body.meter, body.every_units,
                      body.forecast_metric, body.within_days)  # fmt: skip
