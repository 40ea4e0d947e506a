"""The FastAPI application: work orders, alerts and keys under /api/v1, errors as JSON.

Routes are thin: they check the caller's role, call the work-order desk or the store, and
translate domain errors into HTTP ones (409 for a refused transition or a lost race, 404 for a
missing record). Every route states the roles it admits (see api/auth.py).
"""

from __future__ import annotations

from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Query, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles

from api.auth import ApiError, Caller, require
from api.devices import device_routes
from api.kpi_cache import KpiCache
from api.operations import operations_routes
from api.planning import planning_routes
from api.schemas import (
    ActionBody,
    AlertOut,
    AssignBody,
    CommentBody,
    CommentOut,
    DismissBody,
    RecordId,
    WorkOrderCreate,
    WorkOrderDetail,
    WorkOrderOut,
    alert_out,
    order_detail,
    order_out,
)
from api.sources import Platform
from api.stream import ChangeFeed, sse_frames
from maintenance import orders_page
from maintenance.desk import Desk, FixNotVerified, revise_alert
from maintenance.domain import Action, InvalidTransition, Priority, Status
from maintenance.store import (
    AlertQuery,
    AlertRecord,
    AlertState,
    Duplicate,
    NotFound,
    Role,
    Store,
    VersionConflict,
    WorkOrderQuery,
)

__all__ = ["create_app"]

READERS = (Role.VIEWER, Role.CREW, Role.MANAGER)
WORKERS = (Role.CREW, Role.MANAGER)
PLANNERS = (Role.MANAGER,)

# Callers admitted by role (admin is admitted everywhere).
Reader = Annotated[Caller, Depends(require(*READERS))]
Worker = Annotated[Caller, Depends(require(*WORKERS))]
AlertReader = Annotated[Caller, Depends(require(*READERS, Role.INTEGRATOR))]
Anyone = Annotated[Caller, Depends(require(*Role))]


def create_app(
    store: Store, desk: Desk, kpis: KpiCache | None = None, platform: Platform | None = None
) -> FastAPI:
    """The application over a store and a desk (both passed in, so tests choose them); KPIs
    from `kpis` when given (`facmon api` computes them in a process of its own). With a
    `platform` (telemetry, ingest records, forecasts) it also serves devices, telemetry,
    health, metrics, the live stream and the dashboard."""
    app = FastAPI(title="facmon", version="0.1.0", description=__doc__)
    app.state.store = store
    app.state.desk = desk
    _errors(app)
    router = APIRouter(prefix="/api/v1")
    _work_order_routes(router, desk, store)
    _alert_routes(router, store)
    planning_routes(router, store, kpis)
    if platform is not None:
        device_routes(router, store, platform)
        operations_routes(router, store, platform)
        _stream_route(router, ChangeFeed(store, platform.telemetry))
        _dashboard(app)
    app.include_router(router)
    return app


def _stream_route(router: APIRouter, feed: ChangeFeed) -> None:
    @router.get("/stream", response_class=StreamingResponse)
    async def stream(request: Request, _: Anyone) -> StreamingResponse:
        """Server-sent events: `alert`, `work_order` and `device` changes as JSON, and a
        keep-alive comment every 15 s. Roles: all."""
        frames = sse_frames(feed, request.is_disconnected)
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(frames, media_type="text/event-stream", headers=headers)


def _dashboard(app: FastAPI) -> None:
    """The web dashboard's static files at /dashboard/; / leads there."""
    web = Path(str(resources.files("dashboards") / "web"))
    app.mount(
        "/dashboard", StaticFiles(directory=web, html=True, check_dir=False), name="dashboard"
    )

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/dashboard/")


def _errors(app: FastAPI) -> None:
    """Every error is {"error": {"code", "message"}} with a message a person can act on."""

    def reply(status_code: int, code: str, message: str) -> JSONResponse:
        return JSONResponse({"error": {"code": code, "message": message}}, status_code=status_code)

    @app.exception_handler(ApiError)
    async def api_error(_: Request, error: ApiError) -> JSONResponse:
        return reply(error.status, error.code, error.message)

    @app.exception_handler(InvalidTransition)
    async def invalid(_: Request, error: InvalidTransition) -> JSONResponse:
        return reply(409, "invalid_transition", str(error))

    @app.exception_handler(FixNotVerified)
    async def unverified(_: Request, error: FixNotVerified) -> JSONResponse:
        return reply(409, "fix_not_verified", str(error))

    @app.exception_handler(VersionConflict)
    async def conflict(_: Request, error: VersionConflict) -> JSONResponse:
        return reply(409, "version_conflict", f"{error}; reload it and try again")

    @app.exception_handler(Duplicate)
    async def duplicate(_: Request, error: Duplicate) -> JSONResponse:
        return reply(409, "duplicate", f"{error}: choose another name")

    @app.exception_handler(NotFound)
    async def missing(_: Request, error: NotFound) -> JSONResponse:
        return reply(404, "not_found", str(error))

    @app.exception_handler(RequestValidationError)
    async def invalid_body(_: Request, error: RequestValidationError) -> JSONResponse:
        where = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        return reply(422, "invalid_request", where)


def _work_order_routes(router: APIRouter, desk: Desk, store: Store) -> None:
    @router.post("/work-orders", status_code=status.HTTP_201_CREATED, response_model=WorkOrderOut)
    def open_work_order(body: WorkOrderCreate, caller: Worker) -> WorkOrderOut:
        """Open a work order by hand. Roles: crew, manager, admin."""
        where = {"site": body.site, "device": body.device, "kind": body.kind}
        order = desk.open(body.title, body.priority, caller.name, None, **where,
                          description=body.description)  # fmt: skip
        return order_out(order)

    @router.get("/work-orders", response_model=list[WorkOrderOut])
    def list_work_orders(
        _: Reader,
        status: Annotated[list[Status] | None, Query()] = None,
        priority: Priority | None = None,
        site: str | None = None,
        device: str | None = None,
        kind: str | None = None,
        breached: bool | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    ) -> list[WorkOrderOut]:
        """Work orders, filtered, most urgent first, a page at a time (`limit`, `offset`).
        `status` may repeat (`status=open&status=on_hold`): orders in any of them.
        Roles: viewer, crew, manager, admin."""
        query = WorkOrderQuery(
            status=frozenset(status) if status else None,
            priority=priority,
            site=site,
            device=device,
            kind=kind,
            limit=limit,
            offset=offset,
            with_history=breached is not None,
        )  # holds pause SLA clocks
        orders = orders_page(store, query, desk.policies(), desk.clock(), breached)
        return [order_out(o) for o in orders]

    @router.get("/work-orders/{order_id}", response_model=WorkOrderDetail)
    def get_work_order(order_id: RecordId, _: Reader) -> WorkOrderDetail:
        """One work order, its history and comments. Roles: viewer, crew, manager, admin."""
        return order_detail(store.get_order(order_id), store.comments(order_id))

    @router.post("/work-orders/{order_id}/actions/{action}", response_model=WorkOrderOut)
    def act(
        caller: Worker, order_id: RecordId, action: Action, body: ActionBody | None = None
    ) -> WorkOrderOut:
        """acknowledge, start, hold, resume, resolve, close, cancel or reopen. Roles: crew,
        manager, admin. 409 if the status does not allow it or the version is not current."""
        body = body or ActionBody()
        return order_out(desk.act(order_id, action, caller.name, body.version, body.note))

    @router.post("/work-orders/{order_id}/assign", response_model=WorkOrderOut)
    def assign(order_id: RecordId, body: AssignBody, caller: Worker) -> WorkOrderOut:
        """Assign to a technician or crew. Roles: crew, manager, admin."""
        return order_out(desk.assign(order_id, body.assignee, caller.name, body.version))

    @router.post("/work-orders/{order_id}/comments", status_code=201, response_model=CommentOut)
    def comment(order_id: RecordId, body: CommentBody, caller: Worker) -> CommentOut:
        """Add a comment. Roles: crew, manager, admin."""
        note = desk.comment(order_id, caller.name, body.text)
        return CommentOut(id=note.id or 0, author=note.author, text=note.text, at=note.at)


def _alert_routes(router: APIRouter, store: Store) -> None:
    @router.get("/alerts", response_model=list[AlertOut])
    def list_alerts(
        _: AlertReader,
        state: AlertState | None = None,
        site: str | None = None,
        work_order_id: Annotated[int | None, Query(ge=1)] = None,
        limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    ) -> list[AlertOut]:
        """Alerts, newest first; `work_order_id` gives the alerts behind one work order.
        Roles: viewer, crew, manager, integrator, admin."""
        query = AlertQuery(state=state, site=site, work_order_id=work_order_id, limit=limit)
        return [alert_out(a) for a in store.find_alerts(query)]

    @router.post("/alerts/{alert_id}/acknowledge", response_model=AlertOut)
    def acknowledge(alert_id: RecordId, caller: Worker) -> AlertOut:
        """A person has seen it and confirms it is real. Roles: crew, manager, admin."""
        return alert_out(_set_state(store, alert_id, AlertState.ACKNOWLEDGED, None))

    @router.post("/alerts/{alert_id}/dismiss", response_model=AlertOut)
    def dismiss(alert_id: RecordId, body: DismissBody, caller: Worker) -> AlertOut:
        """Not a real problem (the reason is kept for tuning). Roles: crew, manager, admin."""
        return alert_out(_set_state(store, alert_id, AlertState.DISMISSED, body.reason))


def _set_state(store: Store, alert_id: int, state: AlertState, reason: str | None) -> AlertRecord:
    def change(alert: AlertRecord) -> AlertRecord:
        # Judged against the alert as stored, again if analytics changed it meanwhile.
        if alert.state in (AlertState.DISMISSED, AlertState.CLEARED) and (
            state is AlertState.ACKNOWLEDGED
        ):
            raise ApiError(
                409, "invalid_transition", f"alert {alert_id} is already {alert.state.value}"
            )
        return replace(alert, state=state, dismissed_reason=reason)

    return revise_alert(store, store.get_alert(alert_id), change)
