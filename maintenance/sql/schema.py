"""The tables of the work-order database, as SQLAlchemy ORM classes, and their column types.

The schema itself is owned by the Alembic migrations in maintenance/migrations (run `facmon db
upgrade`); the classes below mirror it so queries are typed. SQLite keeps no time zone, so every
timestamp goes in as naive UTC and comes out tagged UTC again (`UtcDateTime`); PostgreSQL keeps
`timestamptz`. A naive datetime is refused at the boundary rather than guessed at.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Generic, TypeVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from maintenance.domain import Priority, Status
from maintenance.store import AlertState, Role

__all__ = [
    "AlertRow",
    "ApiKeyRow",
    "Base",
    "CommentRow",
    "CrewRow",
    "DatabaseNotMigrated",
    "DeviceRow",
    "EnumText",
    "ForecastRow",
    "ForecastRunRow",
    "HistoryRow",
    "NotificationRow",
    "PmOrderRow",
    "PmPlanRow",
    "SiteRow",
    "SlaPolicyRow",
    "TechnicianRow",
    "UtcDateTime",
    "WorkOrderRow",
    "metadata",
]


# Named constraints, so later migrations (and SQLite batch mode) can find them by name.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class DatabaseNotMigrated(RuntimeError):
    """The database has no facmon tables yet (or an older schema): run `facmon db upgrade`."""


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, whatever the database keeps.

    >>> from sqlalchemy.dialects import sqlite
    >>> UtcDateTime().process_bind_param(datetime(2025, 1, 1, 12, tzinfo=UTC), sqlite.dialect())
    datetime.datetime(2025, 1, 1, 12, 0)
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()}: pass a timezone-aware one")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


E = TypeVar("E", bound=StrEnum)


class EnumText(TypeDecorator[E], Generic[E]):
    """A StrEnum kept as its plain text value: no native enum type to migrate when one grows."""

    impl = String(32)
    cache_ok = True

    def __init__(self, enum: type[E]) -> None:
        super().__init__()
        self.enum = enum

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        return None if value is None else self.enum(value)


# --- tables (mirrors of migrations/versions; a change here needs a new revision) -------------


class Base(DeclarativeBase):
    metadata = metadata
    type_annotation_map = {datetime: UtcDateTime()}  # noqa: RUF012 - SQLAlchemy's own hook


class SiteRow(Base):
    __tablename__ = "sites"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(200), default="")


class DeviceRow(Base):
    __tablename__ = "devices"
    __table_args__ = (UniqueConstraint("site", "kind", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site: Mapped[str] = mapped_column(String(64), ForeignKey("sites.name"))
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(64))
    building: Mapped[str | None] = mapped_column(String(100))
    floor: Mapped[str | None] = mapped_column(String(32))
    zone: Mapped[str | None] = mapped_column(String(100))
    model: Mapped[str | None] = mapped_column(String(100))
    install_date: Mapped[date | None] = mapped_column(Date)
    criticality: Mapped[int] = mapped_column(Integer, default=3)


class WorkOrderRow(Base):
    __tablename__ = "work_orders"
    __table_args__ = (
        Index("ix_work_orders_status_priority", "status", "priority"),
        Index("ix_work_orders_site_device_alert_signature", "site", "device", "alert_signature"),
        Index("ix_work_orders_queue", "priority", "opened_at", "id"),
        Index("ix_work_orders_status_queue", "status", "priority", "opened_at", "id"),
        Index("ix_work_orders_site_queue", "site", "priority", "opened_at", "id"),
        Index("ix_work_orders_site_status_queue", "site", "status", "priority", "opened_at", "id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    priority: Mapped[Priority] = mapped_column(EnumText(Priority))
    status: Mapped[Status] = mapped_column(EnumText(Status))
    opened_at: Mapped[datetime]
    site: Mapped[str | None] = mapped_column(String(64))
    device: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str | None] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    alert_signature: Mapped[str | None] = mapped_column(String(200))
    response_due: Mapped[datetime | None]
    resolve_due: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    assignee: Mapped[str | None] = mapped_column(String(100))
    repeat_of: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    history: Mapped[list[HistoryRow]] = relationship(order_by="HistoryRow.seq")


class HistoryRow(Base):
    __tablename__ = "work_order_history"
    __table_args__ = (UniqueConstraint("work_order_id", "seq"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)  # position in the order's history, from 0
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[Status | None] = mapped_column(EnumText(Status))
    to_status: Mapped[Status] = mapped_column(EnumText(Status))
    note: Mapped[str] = mapped_column(Text, default="")


class CommentRow(Base):
    __tablename__ = "comments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    author: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]


class AlertRow(Base):
    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_site_device_signature", "site", "device", "signature"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    device: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(200))
    severity: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    state: Mapped[AlertState] = mapped_column(EnumText(AlertState))
    score: Mapped[float] = mapped_column(Float, default=0.0)
    evidence: Mapped[list[str]] = mapped_column(JSON, default=list)
    cleared_at: Mapped[datetime | None]
    dismissed_reason: Mapped[str | None] = mapped_column(Text)
    work_order_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id"))
    expected: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)


class CrewRow(Base):
    __tablename__ = "crews"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    site: Mapped[str | None] = mapped_column(String(64))


class TechnicianRow(Base):
    __tablename__ = "technicians"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    crew_id: Mapped[int | None] = mapped_column(ForeignKey("crews.id"))
    contact: Mapped[str] = mapped_column(String(200), default="")
    crew: Mapped[CrewRow | None] = relationship(lazy="joined")


class SlaPolicyRow(Base):
    """A policy with its business calendar flattened in (calendar_weekdays None: 24/7)."""

    __tablename__ = "sla_policies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    priority: Mapped[Priority] = mapped_column(EnumText(Priority))
    kind: Mapped[str | None] = mapped_column(String(32))
    response_minutes: Mapped[float] = mapped_column(Float)
    resolve_minutes: Mapped[float] = mapped_column(Float)
    pause_on_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    due_soon_fraction: Mapped[float] = mapped_column(Float, default=0.8)
    escalation: Mapped[str | None] = mapped_column(String(32))
    calendar_weekdays: Mapped[list[int] | None] = mapped_column(JSON)
    calendar_opens: Mapped[time | None] = mapped_column(Time)
    calendar_closes: Mapped[time | None] = mapped_column(Time)
    calendar_holidays: Mapped[list[str] | None] = mapped_column(JSON)  # ISO dates
    calendar_zone: Mapped[str | None] = mapped_column(String(64))  # IANA name, e.g. Europe/Oslo


class PmPlanRow(Base):
    """A plan with its trigger flattened in: `trigger` names which trigger columns are set."""

    __tablename__ = "pm_plans"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    site: Mapped[str | None] = mapped_column(String(64))
    device: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    task: Mapped[str] = mapped_column(Text, default="")
    priority: Mapped[Priority] = mapped_column(EnumText(Priority))
    trigger: Mapped[str] = mapped_column(String(16))  # every_days | every_usage | when_forecast
    every_days: Mapped[int | None] = mapped_column(Integer)
    meter: Mapped[str | None] = mapped_column(String(64))
    units: Mapped[float | None] = mapped_column(Float)
    metric: Mapped[str | None] = mapped_column(String(64))
    within_days: Mapped[int | None] = mapped_column(Integer)
    first_due: Mapped[datetime | None]


class PmOrderRow(Base):
    """Which work order was opened for which (plan, due date): so none is opened twice, even
    across restarts, and the last service of a plan is the close of its latest order."""

    __tablename__ = "pm_orders"
    __table_args__ = (UniqueConstraint("plan_id", "due_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("pm_plans.id", ondelete="CASCADE"))
    due_at: Mapped[datetime]
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), unique=True)


class NotificationRow(Base):
    """The notification outbox: kept until delivered (delivered_at), with the attempts."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_delivered_at", "delivered_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    work_order_id: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class ApiKeyRow(Base):
    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[Role] = mapped_column(EnumText(Role))
    key_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class ForecastRunRow(Base):
    """One row (id 1): when the stored forecasts were computed."""

    __tablename__ = "forecast_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    computed_ms: Mapped[int | None] = mapped_column(BigInteger)


class ForecastRow(Base):
    """A device's forecasts, health and usage flattened in (their columns None when absent)."""

    __tablename__ = "forecasts"
    __table_args__ = (UniqueConstraint("site", "device"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    device: Mapped[str] = mapped_column(String(64))
    health_metric: Mapped[str | None] = mapped_column(String(64))
    health_crossing_ms: Mapped[int | None] = mapped_column(BigInteger)
    health_earliest_ms: Mapped[int | None] = mapped_column(BigInteger)
    health_latest_ms: Mapped[int | None] = mapped_column(BigInteger)
    health_reason: Mapped[str | None] = mapped_column(Text)
    usage_meter: Mapped[str | None] = mapped_column(String(64))
    usage_reading: Mapped[float | None] = mapped_column(Float)
    usage_per_day: Mapped[float | None] = mapped_column(Float)
    usage_due_at: Mapped[float | None] = mapped_column(Float)
    usage_due_ms: Mapped[int | None] = mapped_column(BigInteger)
