"""/work-orders: open, list, read, act on, assign and comment on work orders."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from api.auth import Reader, Worker
from api.routers.common import API_PREFIX, errors
from api.schemas import (
    ActionBody,
    AssignBody,
    CommentBody,
    CommentOut,
    RecordId,
    WorkOrderCreate,
    WorkOrderDetail,
    WorkOrderOut,
    order_detail,
    order_out,
)
from maintenance import (
    Action,
    Desk,
    Priority,
    Status,
    Store,
    WorkOrderQuery,
    orders_page,
)

__all__ = ["work_orders_router"]


def work_orders_router(desk: Desk, store: Store) -> APIRouter:
    """The work-order routes: changes go through the desk, reads to the store."""
    router = APIRouter(prefix=API_PREFIX, tags=["work orders"], responses=errors(404, 409))
    _changes(router, desk)
    _reads(router, desk, store)
    return router


def _changes(router: APIRouter, desk: Desk) -> None:
    @router.post("/work-orders", status_code=status.HTTP_201_CREATED, response_model=WorkOrderOut)
    def open_work_order(body: WorkOrderCreate, caller: Worker) -> WorkOrderOut:
        """Open a work order by hand. Roles: crew, manager, admin."""
        where = {"site": body.site, "device": body.device, "kind": body.kind}
        order = desk.open(body.title, body.priority, caller.name, None, **where,
                          description=body.description)  # fmt: skip
        return order_out(order)

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


def _reads(router: APIRouter, desk: Desk, store: Store) -> None:
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
