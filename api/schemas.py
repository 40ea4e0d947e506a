"""Request and response bodies of the API (pydantic), and their conversion from domain values."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Path
from pydantic import BaseModel, Field

from maintenance import AlertRecord, Comment, Priority, Status, WorkOrder

__all__ = [
    "MAX_RECORD_ID",
    "ActionBody",
    "AlertOut",
    "AssignBody",
    "CommentBody",
    "CommentOut",
    "DismissBody",
    "ErrorOut",
    "HistoryOut",
    "Number",
    "RecordId",
    "WorkOrderCreate",
    "WorkOrderDetail",
    "WorkOrderOut",
    "alert_out",
    "order_detail",
    "order_out",
]


# Database ids are 64-bit: a larger number in a path is a 422, not a crash deep in the driver.
MAX_RECORD_ID = 2**63 - 1  # the largest id SQLite and PostgreSQL's BIGINT hold
RecordId = Annotated[int, Path(ge=1, le=MAX_RECORD_ID)]
# A record's version as the database holds it (a signed 64-bit integer): a larger one is a
# 422, never a driver's overflow.
Version = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]

# A JSON number as computed: an int stays an int (a float field would answer 5.0 for 5).
Number = int | float


class ErrorDetail(BaseModel):
    code: str = Field(description="what went wrong, for programs: invalid_request, not_found...")
    message: str = Field(description="what went wrong and what to do, for people")


class ErrorOut(BaseModel):
    """Every error answer: {"error": {"code", "message"}}."""

    error: ErrorDetail


class WorkOrderCreate(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    priority: Priority
    description: str = Field(default="", max_length=10_000)
    site: str | None = Field(default=None, max_length=64)
    device: str | None = Field(default=None, max_length=64)
    kind: str | None = Field(default=None, max_length=32)


class WorkOrderOut(BaseModel):
    id: int
    title: str
    status: Status
    priority: Priority
    site: str | None
    device: str | None
    kind: str | None
    description: str
    alert_signature: str | None
    opened_at: datetime
    response_due: datetime | None
    resolve_due: datetime | None
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    assignee: str | None
    version: int


class HistoryOut(BaseModel):
    at: datetime
    actor: str
    action: str
    from_status: Status | None
    to_status: Status
    note: str


class CommentOut(BaseModel):
    id: int
    author: str
    text: str
    at: datetime


class WorkOrderDetail(WorkOrderOut):
    history: list[HistoryOut]
    comments: list[CommentOut]


class ActionBody(BaseModel):
    version: Version | None = Field(
        default=None, description="the version you saw; 409 if it changed"
    )
    note: str = Field(default="", max_length=2000)


class AssignBody(BaseModel):
    assignee: str = Field(min_length=1, max_length=100)
    version: Version | None = None


class CommentBody(BaseModel):
    text: str = Field(min_length=1, max_length=10_000)


class DismissBody(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class AlertOut(BaseModel):
    id: int
    site: str
    kind: str
    device: str
    signature: str
    severity: str
    state: str
    started_at: datetime
    updated_at: datetime
    cleared_at: datetime | None
    evidence: list[str]
    work_order_id: int | None
    expected: bool
    dismissed_reason: str | None
    version: int


def order_out(order: WorkOrder) -> WorkOrderOut:
    fields = {name: getattr(order, name) for name in WorkOrderOut.model_fields}
    return WorkOrderOut(**fields)


def order_detail(order: WorkOrder, comments: list[Comment]) -> WorkOrderDetail:
    base = order_out(order).model_dump()
    history = [HistoryOut(**vars(entry)) for entry in order.history]
    notes = [CommentOut(id=c.id or 0, author=c.author, text=c.text, at=c.at) for c in comments]
    return WorkOrderDetail(**base, history=history, comments=notes)


def alert_out(alert: AlertRecord) -> AlertOut:
    fields = {name: getattr(alert, name) for name in AlertOut.model_fields if name != "evidence"}
    return AlertOut(**fields, evidence=list(alert.evidence))
