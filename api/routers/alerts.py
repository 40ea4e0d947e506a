"""/alerts: list alerts; acknowledge or dismiss one (maintenance decides which changes are
allowed: a refused one is a 409)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.auth import AlertReader, Worker
from api.routers.common import API_PREFIX, errors
from api.schemas import MAX_RECORD_ID, AlertOut, DismissBody, RecordId, alert_out
from maintenance import AlertQuery, AlertState, Store, acknowledge_alert, dismiss_alert

__all__ = ["alerts_router"]


def alerts_router(store: Store) -> APIRouter:
    """The alert routes over the store."""
    router = APIRouter(prefix=API_PREFIX, tags=["alerts"], responses=errors(404, 409))

    @router.get("/alerts", response_model=list[AlertOut])
    def list_alerts(
        _: AlertReader,
        state: AlertState | None = None,
        site: str | None = None,
        work_order_id: Annotated[int | None, Query(ge=1, le=MAX_RECORD_ID)] = None,
        limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    ) -> list[AlertOut]:
        """Alerts, newest first; `work_order_id` gives the alerts behind one work order.
        Roles: viewer, crew, manager, integrator, admin."""
        query = AlertQuery(state=state, site=site, work_order_id=work_order_id, limit=limit)
        return [alert_out(a) for a in store.find_alerts(query)]

    @router.post("/alerts/{alert_id}/acknowledge", response_model=AlertOut)
    def acknowledge(alert_id: RecordId, caller: Worker) -> AlertOut:
        """A person has seen it and confirms it is real. Roles: crew, manager, admin."""
        return alert_out(acknowledge_alert(store, alert_id))

    @router.post("/alerts/{alert_id}/dismiss", response_model=AlertOut)
    def dismiss(alert_id: RecordId, body: DismissBody, caller: Worker) -> AlertOut:
        """Not a real problem (the reason is kept for tuning). Roles: crew, manager, admin."""
        return alert_out(dismiss_alert(store, alert_id, body.reason))

    return router
