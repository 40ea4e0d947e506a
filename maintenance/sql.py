"""The SQL adapter of maintenance/: the Store protocol on SQLAlchemy 2 (SQLite or PostgreSQL).

It only moves data: rows in, frozen values out, no rules. The schema itself is owned by the
Alembic migrations in maintenance/migrations (run `facmon db upgrade`); the ORM classes below
mirror it so queries are typed.

Two details matter more than they look:

- SQLite keeps no time zone, so every timestamp goes in as naive UTC and comes out tagged UTC
  again (`UtcDateTime`); PostgreSQL keeps `timestamptz`. A naive datetime is refused at the
  boundary rather than guessed at.
- Updates to a work order are optimistic: ``UPDATE ... WHERE id = ? AND version = ?``. Whoever
  changed it first wins; the other caller gets VersionConflict and nothing is overwritten.
  On SQLite every write transaction starts with BEGIN IMMEDIATE, so two processes on one file
  queue for the write lock (busy timeout) instead of failing on a stale snapshot.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, time, tzinfo
from enum import StrEnum
from typing import Any, Generic, TypeVar, cast, get_args
from zoneinfo import ZoneInfo

from alembic.runtime.migration import MigrationContext
from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
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
    create_engine,
    delete,
    event,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    relationship,
    selectinload,
    sessionmaker,
)
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

from maintenance.domain import ACTIVE_STATUSES, HistoryEntry, Priority, Status, WorkOrder
from maintenance.pm import EveryDays, EveryUsage, PmPlan, Trigger, WhenForecast
from maintenance.sla import BusinessCalendar, Escalation, SlaPolicy
from maintenance.store import (
    AlertRecord,
    AlertState,
    ApiKey,
    Comment,
    Duplicate,
    NotFound,
    Notification,
    Role,
    VersionConflict,
    WorkOrderQuery,
)

__all__ = [
    "Crew",
    "DatabaseNotMigrated",
    "DeviceInfo",
    "SqlStore",
    "Technician",
    "for_writing",
    "make_engine",
    "metadata",
]

BUSY_TIMEOUT_MS = 10_000  # how long a writer waits for another process's write lock
_WRITE = "facmon_write"  # execution option: this transaction will write (BEGIN IMMEDIATE)

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


# --- values this adapter adds (the Store protocol covers orders, alerts and keys) ------------


@dataclass(frozen=True)
class DeviceInfo:
    """A device as the maintenance desk knows it: where it is and how much depends on it.

    `criticality` runs from 1 (life safety: fire panel, passenger lift) to 5 (cosmetic), so it
    sorts the same way as Priority.
    """

    id: int | None
    site: str
    kind: str
    name: str
    building: str | None = None
    floor: str | None = None
    zone: str | None = None
    model: str | None = None
    install_date: date | None = None
    criticality: int = 3


@dataclass(frozen=True)
class Crew:
    id: int | None
    name: str
    site: str | None = None  # None: works every site


@dataclass(frozen=True)
class Technician:
    id: int | None
    name: str
    crew: str | None = None  # the crew's name
    contact: str = ""


# --- column types ----------------------------------------------------------------------------


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


# --- engine ----------------------------------------------------------------------------------


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys, a busy timeout and real BEGINs."""
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def for_writing(engine: Engine) -> Engine:
    """The same engine (and pool), its transactions taking the write lock up front: on SQLite
    two writers then queue instead of one failing on a snapshot the other made stale."""
    return engine.execution_options(**{_WRITE: True})


def _sqlite_on_connect(dbapi_connection: sqlite3.Connection, _: ConnectionPoolEntry) -> None:
    """Per-connection settings (SQLite forgets all but journal_mode between connections).

    isolation_level None stops the sqlite3 module from issuing its own BEGINs, so ours apply.
    """
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")  # readers never block the writer
    cursor.execute("PRAGMA synchronous = FULL")  # a committed change survives a power cut
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    """BEGIN IMMEDIATE for writers: take the write lock first, then read what to change."""
    writes = connection.get_execution_options().get(_WRITE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


# --- the store -------------------------------------------------------------------------------

_LIVE_ALERT = [AlertState.OPEN, AlertState.ACKNOWLEDGED]
_ORDER_COLUMNS = [f.name for f in fields(WorkOrder) if f.name not in ("id", "history")]


class SqlStore:
    """The Store protocol on a migrated SQL database, plus devices, crews, SLA policies and PM
    plans. Each method is one transaction; values returned are detached copies."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self._check_schema()
        self._reads = sessionmaker(self.engine, expire_on_commit=False)
        self._writes = sessionmaker(for_writing(self.engine), expire_on_commit=False)

    def close(self) -> None:
        """Release pooled connections (tests on temporary files need this before cleanup)."""
        self.engine.dispose()

    def _check_schema(self) -> None:
        """Refuse a database whose schema is not the one this code was written for."""
        from maintenance.migrate import head_revision  # here: migrate imports this module

        with self.engine.connect() as connection:
            found = MigrationContext.configure(connection).get_current_revision()
        wanted = head_revision()
        if found != wanted:
            self.engine.dispose()
            where = self.engine.url.render_as_string(hide_password=True)
            raise DatabaseNotMigrated(
                f"{where} is at schema revision {found or 'none (empty)'}, this facmon needs "
                f"{wanted}: run `facmon db upgrade`"
            )

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with _plain_errors(), self._reads() as session, session.begin():
            yield session

    @contextmanager
    def _write(self) -> Iterator[Session]:
        with _plain_errors(), self._writes() as session, session.begin():
            yield session

    # --- work orders -----------------------------------------------------------------------

    def add_order(self, order: WorkOrder) -> WorkOrder:
        """Insert a new order (id None) with its history; the database assigns the id."""
        if order.id is not None:
            raise ValueError(f"work order {order.id} is already stored: use update_order")
        with self._write() as session:
            if order.repeat_of is not None:
                _require(session, WorkOrderRow, order.repeat_of)
            row = _inserted(session, WorkOrderRow(**{n: getattr(order, n) for n in _ORDER_COLUMNS}))
            _append_history(session, row.id, order.history, stored=0)
            return replace(order, id=row.id)

    def get_order(self, order_id: int) -> WorkOrder:
        """The order with its full history, oldest entry first."""
        with self._read() as session:
            return _load_order(session, order_id)

    def update_order(self, order: WorkOrder, expected_version: int) -> WorkOrder:
        """Store `order` if the stored version is still `expected_version`, else VersionConflict.

        The stored version becomes order.version, but at least expected_version + 1, so a caller
        that forgot to bump it still locks out the others. New history entries are appended.
        """
        if order.id is None:
            raise NotFound("a work order without an id was never stored: use add_order")
        version = max(order.version, expected_version + 1)
        values = {name: getattr(order, name) for name in _ORDER_COLUMNS} | {"version": version}
        with self._write() as session:
            changed = session.execute(
                update(WorkOrderRow)
                .where(WorkOrderRow.id == order.id, WorkOrderRow.version == expected_version)
                .values(**values)
            )
            if changed.rowcount == 0:  # type: ignore[attr-defined]
                _require(session, WorkOrderRow, order.id)
                raise VersionConflict(
                    f"work order {order.id} changed since version {expected_version}: reload it"
                )
            _append_history(session, order.id, order.history, _history_length(session, order.id))
            session.flush()
            return _load_order(session, order.id)  # what is stored now, read under the lock

    def list_orders(self, query: WorkOrderQuery) -> list[WorkOrder]:
        """Matching orders in queue order: most urgent first, then oldest first.

        Read as plain rows, not ORM objects: lists and KPIs read thousands of orders, and
        building ORM objects was most of their time (docs/benchmarks.md).
        """
        columns = [WorkOrderRow.id, *(getattr(WorkOrderRow, n) for n in _ORDER_COLUMNS)]
        statement = select(*columns)
        if query.statuses is not None:
            statement = statement.where(WorkOrderRow.status.in_(query.statuses))
        for name in ("priority", "site", "device", "kind"):
            wanted = getattr(query, name)
            if wanted is not None:
                statement = statement.where(getattr(WorkOrderRow, name) == wanted)
        if query.touched_since is not None:
            statement = statement.where(_touched_since(query.touched_since))
        order_by = (WorkOrderRow.priority, WorkOrderRow.opened_at, WorkOrderRow.id)
        page = statement.order_by(*order_by).offset(query.offset).limit(query.limit)
        with self._read() as session:
            rows = session.execute(page).all()
            ids = [row.id for row in rows]
            histories = _histories(session, ids) if query.with_history else {}
        return [WorkOrder(**row._mapping, history=histories.get(row.id, ())) for row in rows]

    def open_order_for(self, site: str, device: str, signature: str) -> WorkOrder | None:
        """The newest still-active order an alert with this signature opened on this device."""
        statement = (
            select(WorkOrderRow)
            .options(selectinload(WorkOrderRow.history))
            .where(WorkOrderRow.site == site, WorkOrderRow.device == device)
            .where(WorkOrderRow.alert_signature == signature)
            .where(WorkOrderRow.status.in_(ACTIVE_STATUSES))
            .order_by(WorkOrderRow.opened_at.desc(), WorkOrderRow.id.desc())
        )
        with self._read() as session:
            row = session.scalars(statement.limit(1)).first()
            return None if row is None else _order(row)

    # --- comments --------------------------------------------------------------------------

    def add_comment(self, comment: Comment) -> Comment:
        with self._write() as session:
            _require(session, WorkOrderRow, comment.work_order_id)
            return replace(comment, id=_inserted(session, CommentRow(**_values(comment))).id)

    def comments(self, order_id: int) -> list[Comment]:
        """An order's comments, oldest first."""
        statement = select(CommentRow).where(CommentRow.work_order_id == order_id)
        with self._read() as session:
            rows = session.scalars(statement.order_by(CommentRow.at, CommentRow.id))
            return [Comment(**_columns(row, Comment)) for row in rows]

    # --- alerts ----------------------------------------------------------------------------

    def add_alert(self, alert: AlertRecord) -> AlertRecord:
        with self._write() as session:
            if alert.work_order_id is not None:
                _require(session, WorkOrderRow, alert.work_order_id)
            return replace(alert, id=_inserted(session, AlertRow(**_alert_values(alert))).id)

    def update_alert(self, alert: AlertRecord) -> AlertRecord:
        """Store `alert` if the stored one is still at `alert.version`, else VersionConflict."""
        if alert.id is None:
            raise NotFound("an alert without an id was never stored: use add_alert")
        stored = replace(alert, version=alert.version + 1)
        with self._write() as session:
            if alert.work_order_id is not None:
                _require(session, WorkOrderRow, alert.work_order_id)
            changed = session.execute(
                update(AlertRow)
                .where(AlertRow.id == alert.id, AlertRow.version == alert.version)
                .values(**_alert_values(stored))
            )
            if changed.rowcount == 0:  # type: ignore[attr-defined]
                _require(session, AlertRow, alert.id)
                raise VersionConflict(f"alert {alert.id} changed since version {alert.version}")
        return stored

    def get_alert(self, alert_id: int) -> AlertRecord:
        with self._read() as session:
            return _alert(_require(session, AlertRow, alert_id))

    def list_alerts(
        self, state: AlertState | None = None, site: str | None = None
    ) -> list[AlertRecord]:
        """Alerts newest first."""
        statement = select(AlertRow)
        if state is not None:
            statement = statement.where(AlertRow.state == state)
        if site is not None:
            statement = statement.where(AlertRow.site == site)
        newest = (AlertRow.started_at.desc(), AlertRow.id.desc())
        with self._read() as session:
            rows = session.scalars(statement.order_by(*newest))
            return [_alert(row) for row in rows]

    def open_alert_for(self, site: str, device: str, signature: str) -> AlertRecord | None:
        """The newest alert for this device and signature that is neither cleared nor dismissed."""
        statement = (
            select(AlertRow)
            .where(AlertRow.site == site, AlertRow.device == device)
            .where(AlertRow.signature == signature, AlertRow.state.in_(_LIVE_ALERT))
            .order_by(AlertRow.started_at.desc(), AlertRow.id.desc())
        )
        with self._read() as session:
            row = session.scalars(statement.limit(1)).first()
            return None if row is None else _alert(row)

    # --- API keys --------------------------------------------------------------------------

    def add_key(self, key: ApiKey) -> ApiKey:
        with self._write() as session:
            return replace(key, id=_inserted(session, ApiKeyRow(**_values(key))).id)

    def has_keys(self) -> bool:
        """Whether any API key was ever created (the platform's first start has none)."""
        with self._read() as session:
            return session.scalar(select(ApiKeyRow.id).limit(1)) is not None

    def find_key(self, key_hash: str) -> ApiKey | None:
        """The key with this hash, revoked or not (the caller checks revoked_at)."""
        with self._read() as session:
            row = session.scalars(select(ApiKeyRow).where(ApiKeyRow.key_hash == key_hash)).first()
            return None if row is None else ApiKey(**_columns(row, ApiKey))

    def revoke_key(self, key_id: int, at: datetime) -> None:
        """Revoke a key; revoking it again keeps the first revocation time."""
        with self._write() as session:
            row = _require(session, ApiKeyRow, key_id)
            if row.revoked_at is None:
                row.revoked_at = at

    # --- devices, crews, technicians -------------------------------------------------------

    def upsert_device(self, device: DeviceInfo) -> DeviceInfo:
        """Insert or update the device named (site, kind, name); its site is created if new."""
        with self._write() as session:
            if session.get(SiteRow, device.site) is None:
                session.add(SiteRow(name=device.site, title=device.site))
            row = session.scalars(
                select(DeviceRow).where(DeviceRow.site == device.site)
                .where(DeviceRow.kind == device.kind, DeviceRow.name == device.name)
            ).first()  # fmt: skip
            if row is None:
                row = DeviceRow()
                session.add(row)
            for name, value in _values(device).items():
                setattr(row, name, value)
            session.flush()
            return replace(device, id=row.id)

    def devices(self, site: str | None = None) -> list[DeviceInfo]:
        """Known devices, by site, kind and name."""
        statement = select(DeviceRow)
        if site is not None:
            statement = statement.where(DeviceRow.site == site)
        order_by = (DeviceRow.site, DeviceRow.kind, DeviceRow.name)
        with self._read() as session:
            rows = session.scalars(statement.order_by(*order_by))
            return [DeviceInfo(**_columns(row, DeviceInfo)) for row in rows]

    def sites(self) -> list[str]:
        with self._read() as session:
            return list(session.scalars(select(SiteRow.name).order_by(SiteRow.name)))

    def add_crew(self, crew: Crew) -> Crew:
        with self._write() as session:
            return replace(crew, id=_inserted(session, CrewRow(name=crew.name, site=crew.site)).id)

    def crews(self) -> list[Crew]:
        with self._read() as session:
            rows = session.scalars(select(CrewRow).order_by(CrewRow.name))
            return [Crew(row.id, row.name, row.site) for row in rows]

    def add_technician(self, technician: Technician) -> Technician:
        """Add a technician; NotFound if the named crew does not exist."""
        with self._write() as session:
            row = TechnicianRow(name=technician.name, contact=technician.contact)
            row.crew_id = None if technician.crew is None else _crew_id(session, technician.crew)
            return replace(technician, id=_inserted(session, row).id)

    def technicians(self, crew: str | None = None) -> list[Technician]:
        statement = select(TechnicianRow).order_by(TechnicianRow.name)
        if crew is not None:
            statement = statement.join(CrewRow).where(CrewRow.name == crew)
        with self._read() as session:
            rows = session.scalars(statement).unique()
            return [_technician(row) for row in rows]

    # --- SLA policies ----------------------------------------------------------------------

    def add_sla_policy(self, policy: SlaPolicy) -> SlaPolicy:
        with self._write() as session:
            return replace(policy, id=_inserted(session, SlaPolicyRow(**_policy_values(policy))).id)

    def get_sla_policy(self, policy_id: int) -> SlaPolicy:
        with self._read() as session:
            return _policy(_require(session, SlaPolicyRow, policy_id))

    def sla_policies(self) -> list[SlaPolicy]:
        """Every policy in the order it was added (choose_policy prefers the first of equals)."""
        with self._read() as session:
            return [
                _policy(row)
                for row in session.scalars(select(SlaPolicyRow).order_by(SlaPolicyRow.id))
            ]

    def update_sla_policy(self, policy: SlaPolicy) -> SlaPolicy:
        if policy.id is None:
            raise NotFound("an SLA policy without an id was never stored: use add_sla_policy")
        with self._write() as session:
            row = _require(session, SlaPolicyRow, policy.id)
            for name, value in _policy_values(policy).items():
                setattr(row, name, value)
        return policy

    def delete_sla_policy(self, policy_id: int) -> None:
        with self._write() as session:
            session.delete(_require(session, SlaPolicyRow, policy_id))

    # --- preventive maintenance plans ------------------------------------------------------

    def add_pm_plan(self, plan: PmPlan) -> PmPlan:
        with self._write() as session:
            return replace(plan, id=_inserted(session, PmPlanRow(**_plan_values(plan))).id)

    def get_pm_plan(self, plan_id: int) -> PmPlan:
        with self._read() as session:
            return _plan(_require(session, PmPlanRow, plan_id))

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
            row = _require(session, PmPlanRow, plan.id)
            for name, value in _plan_values(plan).items():
                setattr(row, name, value)
        return plan

    def delete_pm_plan(self, plan_id: int) -> None:
        """Delete a plan; the work orders it generated stay (only their link goes)."""
        with self._write() as session:
            session.execute(delete(PmOrderRow).where(PmOrderRow.plan_id == plan_id))
            session.delete(_require(session, PmPlanRow, plan_id))

    def record_pm_order(self, plan_id: int, due_at: datetime, work_order_id: int) -> None:
        """Remember that `work_order_id` is the job for `plan_id` due at `due_at`."""
        with self._write() as session:
            _require(session, PmPlanRow, plan_id)
            _require(session, WorkOrderRow, work_order_id)
            session.add(PmOrderRow(plan_id=plan_id, due_at=due_at, work_order_id=work_order_id))

    def pm_orders(self) -> dict[tuple[int, datetime], int]:
        """(plan id, due date) -> work order id: pm.orders_to_generate's `existing_due`."""
        with self._read() as session:
            rows = session.execute(select(PmOrderRow.plan_id, PmOrderRow.due_at,
                                          PmOrderRow.work_order_id))  # fmt: skip
            return {(plan, due): order for plan, due, order in rows}

    # --- notification outbox ---------------------------------------------------------------

    def add_notification(self, notification: Notification) -> Notification:
        with self._write() as session:
            row = _inserted(session, NotificationRow(**_values(notification)))
            return replace(notification, id=row.id)

    def discard_notification(self, notification_id: int) -> None:
        with self._write() as session:
            session.execute(delete(NotificationRow).where(NotificationRow.id == notification_id))

    def undelivered_notifications(self, limit: int = 100) -> list[Notification]:
        """The oldest notifications not delivered yet."""
        statement = (
            select(NotificationRow)
            .where(NotificationRow.delivered_at.is_(None))
            .order_by(NotificationRow.id)
            .limit(limit)
        )
        with self._read() as session:
            return [_notification(row) for row in session.scalars(statement)]

    def record_delivery(self, notification_id: int, at: datetime, error: str | None) -> None:
        with self._write() as session:
            row = _require(session, NotificationRow, notification_id)
            row.attempts += 1
            row.last_error = error
            if error is None:
                row.delivered_at = at


@contextmanager
def _plain_errors() -> Iterator[None]:
    """A bad value (a naive datetime, an unknown enum value) reaches the caller as the
    ValueError it is, not wrapped in SQLAlchemy's StatementError; a unique name taken twice
    is a Duplicate naming the constraint."""
    try:
        yield
    except IntegrityError as error:
        if "UNIQUE" in str(error.orig).upper() or "duplicate key" in str(error.orig):
            raise Duplicate(f"already exists ({str(error.orig).splitlines()[0]})") from error
        raise
    except StatementError as error:
        if isinstance(error.orig, ValueError):
            raise error.orig from error
        raise


# --- row <-> value ---------------------------------------------------------------------------

R = TypeVar("R", bound=Base)


def _inserted(session: Session, row: R) -> R:
    """The row added, with the id the database gave it."""
    session.add(row)
    session.flush()
    return row


def _require(session: Session, table: type[R], key: int) -> R:
    """The row with this primary key, or NotFound naming what is missing."""
    row = session.get(table, key)
    if row is None:
        raise NotFound(f"no {table.__tablename__.removesuffix('s').replace('_', ' ')} {key}")
    return row


def _load_order(session: Session, order_id: int) -> WorkOrder:
    statement = (
        select(WorkOrderRow)
        .options(selectinload(WorkOrderRow.history))
        .where(WorkOrderRow.id == order_id)
        .execution_options(populate_existing=True)
    )
    row = session.scalar(statement)
    if row is None:
        raise NotFound(f"no work order {order_id}")
    return _order(row)


def _history_length(session: Session, order_id: int) -> int:
    count = select(func.count()).where(HistoryRow.work_order_id == order_id)
    return session.scalar(count) or 0


def _append_history(
    session: Session, order_id: int, history: Sequence[HistoryEntry], stored: int
) -> None:
    """History is append-only: store the entries past the `stored` ones already kept."""
    if len(history) < stored:
        raise ValueError(
            f"work order {order_id} has {stored} history entries stored but {len(history)} "
            "given: history is append-only"
        )
    for seq, entry in enumerate(history[stored:], start=stored):
        session.add(HistoryRow(work_order_id=order_id, seq=seq, **_values(entry)))


def _order(row: WorkOrderRow, with_history: bool = True) -> WorkOrder:
    """The order a row holds; its history only when asked (a list view does not show it)."""
    history = tuple(
        HistoryEntry(h.at, h.actor, h.action, h.from_status, h.to_status, h.note)
        for h in (row.history if with_history else ())
    )
    return WorkOrder(id=row.id, history=history, **{n: getattr(row, n) for n in _ORDER_COLUMNS})


def _histories(session: Session, ids: list[int]) -> dict[int, tuple[HistoryEntry, ...]]:
    """The histories of many orders in a few queries (ids in chunks: SQLite caps parameters)."""
    found: dict[int, list[HistoryEntry]] = {}
    fields = (HistoryRow.at, HistoryRow.actor, HistoryRow.action, HistoryRow.from_status,
              HistoryRow.to_status, HistoryRow.note)  # fmt: skip
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        statement = (
            select(HistoryRow.work_order_id, *fields)
            .where(HistoryRow.work_order_id.in_(chunk))
            .order_by(HistoryRow.work_order_id, HistoryRow.seq)
        )
        for row in session.execute(statement):
            entry = HistoryEntry(row.at, row.actor, row.action, row.from_status, row.to_status,
                                 row.note)  # fmt: skip
            found.setdefault(row.work_order_id, []).append(entry)
    return {order_id: tuple(entries) for order_id, entries in found.items()}


def _touched_since(moment: datetime) -> ColumnElement[bool]:
    """Orders that matter for a period starting at `moment`: still open (or cancelled, whose
    time only the history knows), or opened, resolved or closed since."""
    done = (Status.RESOLVED, Status.CLOSED)
    return or_(
        WorkOrderRow.status.not_in(done),
        WorkOrderRow.opened_at >= moment,
        WorkOrderRow.resolved_at >= moment,
        WorkOrderRow.closed_at >= moment,
    )


def _alert_values(alert: AlertRecord) -> dict[str, Any]:
    return _values(alert) | {"evidence": list(alert.evidence)}


def _alert(row: AlertRow) -> AlertRecord:
    values = _columns(row, AlertRecord)
    return AlertRecord(**(values | {"evidence": tuple(values["evidence"])}))


def _policy_values(policy: SlaPolicy) -> dict[str, Any]:
    values = {k: v for k, v in _values(policy).items() if k != "calendar"}
    calendar = policy.calendar
    if calendar is None:
        return values | dict.fromkeys(_CALENDAR_COLUMNS)
    return values | {
        "calendar_weekdays": sorted(calendar.weekdays),
        "calendar_opens": calendar.opens,
        "calendar_closes": calendar.closes,
        "calendar_holidays": sorted(day.isoformat() for day in calendar.holidays),
        "calendar_zone": _zone_name(calendar.zone),
    }


_CALENDAR_COLUMNS = ("calendar_weekdays", "calendar_opens", "calendar_closes",
                     "calendar_holidays", "calendar_zone")  # fmt: skip


def _policy(row: SlaPolicyRow) -> SlaPolicy:
    calendar = None
    if row.calendar_weekdays is not None:
        calendar = BusinessCalendar(
            weekdays=frozenset(row.calendar_weekdays),
            opens=row.calendar_opens or time(0),
            closes=row.calendar_closes or time(23, 59),
            holidays=frozenset(date.fromisoformat(d) for d in row.calendar_holidays or ()),
            zone=_zone(row.calendar_zone),
        )
    escalation = row.escalation
    if escalation is not None and escalation not in get_args(Escalation):
        raise ValueError(f"SLA policy {row.id}: unknown escalation {escalation!r} in the database")
    return SlaPolicy(
        row.id, row.name, row.priority, row.kind, row.response_minutes, row.resolve_minutes,
        calendar, row.pause_on_hold, row.due_soon_fraction, cast("Escalation | None", escalation),
    )  # fmt: skip


def _zone_name(zone: tzinfo) -> str:
    """A calendar's zone as a name the database can keep: UTC or an IANA zone key."""
    if zone is UTC:
        return "UTC"
    if isinstance(zone, ZoneInfo):
        return zone.key
    raise ValueError(f"time zone {zone!r} has no IANA name: use zoneinfo.ZoneInfo('Area/City')")


def _zone(name: str | None) -> tzinfo:
    return UTC if name in (None, "UTC") else ZoneInfo(name)


def _plan_values(plan: PmPlan) -> dict[str, Any]:
    values = {k: v for k, v in _values(plan).items() if k != "trigger"}
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


def _notification(row: NotificationRow) -> Notification:
    return Notification(row.id, row.work_order_id, row.text, row.created_at, row.delivered_at,
                        row.attempts, row.last_error)  # fmt: skip


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


def _technician(row: TechnicianRow) -> Technician:
    return Technician(row.id, row.name, None if row.crew is None else row.crew.name, row.contact)


def _crew_id(session: Session, name: str) -> int:
    crew_id = session.scalar(select(CrewRow.id).where(CrewRow.name == name))
    if crew_id is None:
        raise NotFound(f"no crew named {name!r}")
    return crew_id


def _values(value: Any) -> dict[str, Any]:
    """A dataclass's fields as column values, without its id (the database assigns that)."""
    return {f.name: getattr(value, f.name) for f in fields(value) if f.name != "id"}


def _columns(row: Base, cls: type[Any]) -> dict[str, Any]:
    """The columns of `row` that `cls` (a dataclass) has fields for."""
    return {f.name: getattr(row, f.name) for f in fields(cls)}
