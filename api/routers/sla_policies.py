"""/sla-policies: managers keep the SLA policies; everyone who reads work orders reads them."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.auth import ApiError, Manager, Reader
from api.planning_schemas import PolicyBody, PolicyOut, policy_out
from api.routers.common import API_PREFIX, errors
from api.schemas import RecordId
from maintenance import BusinessCalendar, SlaPolicy, Store

__all__ = ["sla_policies_router"]


def sla_policies_router(store: Store) -> APIRouter:
    """The SLA policy routes over the store."""
    router = APIRouter(prefix=API_PREFIX, tags=["SLA policies"], responses=errors(404, 409))

    @router.get("/sla-policies", response_model=list[PolicyOut])
    def list_policies(_: Reader) -> list[PolicyOut]:
        """SLA policies. Roles: viewer, crew, manager, admin."""
        return [policy_out(p) for p in store.sla_policies()]

    @router.post("/sla-policies", status_code=201, response_model=PolicyOut)
    def add_policy(body: PolicyBody, _: Manager) -> PolicyOut:
        """Add an SLA policy. Roles: manager, admin."""
        return policy_out(store.add_sla_policy(_policy(body, None)))

    @router.put("/sla-policies/{policy_id}", response_model=PolicyOut)
    def change_policy(policy_id: RecordId, body: PolicyBody, _: Manager) -> PolicyOut:
        """Replace an SLA policy (applies to orders opened from now on). Roles: manager, admin."""
        store.get_sla_policy(policy_id)
        return policy_out(store.update_sla_policy(_policy(body, policy_id)))

    @router.delete("/sla-policies/{policy_id}", status_code=204, response_class=Response)
    def delete_policy(policy_id: RecordId, _: Manager) -> Response:
        """Delete an SLA policy. Roles: manager, admin."""
        store.delete_sla_policy(policy_id)
        return Response(status_code=204)

    return router


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
