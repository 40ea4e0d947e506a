"""Work orders (optimistic updates: ``UPDATE ... WHERE id = ? AND version = ?``) and comments."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields, replace
from datetime import datetime

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from maintenance.domain import ACTIVE_STATUSES, HistoryEntry, Priority, Status, WorkOrder
from maintenance.sql.base import Sessions, columns_of, inserted, require, values_of
from maintenance.sql.schema import CommentRow, HistoryRow, WorkOrderRow
from maintenance.store import Comment, NotFound, VersionConflict, WorkOrderQuery

__all__ = ["SqlOrders"]


_ORDER_COLUMNS = [f.name for f in fields(WorkOrder) if f.name not in ("id", "history")]


class SqlOrders(Sessions):
    """Work orders with their history, and comments (OrderStore)."""

    def add_order(self, order: WorkOrder) -> WorkOrder:
        """Insert a new order (id None) with its history; the database assigns the id."""
        if order.id is not None:
            raise ValueError(f"work order {order.id} is already stored: use update_order")
        with self._write() as session:
            if order.repeat_of is not None:
                require(session, WorkOrderRow, order.repeat_of)
            row = inserted(session, WorkOrderRow(**{n: getattr(order, n) for n in _ORDER_COLUMNS}))
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
                require(session, WorkOrderRow, order.id)
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
        if query.due_by is not None:
            statement = statement.where(_due_by(query.due_by))
        order_by = (WorkOrderRow.priority, WorkOrderRow.opened_at, WorkOrderRow.id)
        page = statement.order_by(*order_by).offset(query.offset).limit(query.limit)
        with self._read() as session:
            rows = session.execute(page).all()
            ids = [row.id for row in rows]
            histories = _histories(session, ids) if query.with_history else {}
        return [WorkOrder(**row._mapping, history=histories.get(row.id, ())) for row in rows]

    def order_counts(
        self, statuses: frozenset[Status] | None = None
    ) -> dict[tuple[Status, Priority], int]:
        """How many orders there are by (status, priority), of `statuses` (None: all)."""
        statement = select(WorkOrderRow.status, WorkOrderRow.priority, func.count())
        if statuses is not None:
            statement = statement.where(WorkOrderRow.status.in_(statuses))
        grouped = statement.group_by(WorkOrderRow.status, WorkOrderRow.priority)
        with self._read() as session:
            return {(status, priority): n for status, priority, n in session.execute(grouped)}

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
            require(session, WorkOrderRow, comment.work_order_id)
            return replace(comment, id=inserted(session, CommentRow(**values_of(comment))).id)

    def comments(self, order_id: int) -> list[Comment]:
        """An order's comments, oldest first."""
        statement = select(CommentRow).where(CommentRow.work_order_id == order_id)
        with self._read() as session:
            rows = session.scalars(statement.order_by(CommentRow.at, CommentRow.id))
            return [Comment(**columns_of(row, Comment)) for row in rows]


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
        session.add(HistoryRow(work_order_id=order_id, seq=seq, **values_of(entry)))


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


def _due_by(moment: datetime) -> ColumnElement[bool]:
    """Orders with a due time at or before `moment`, or without one stored (the policy's then
    applies): the only ones whose SLA can be breached by then."""
    return or_(
        WorkOrderRow.response_due.is_(None),
        WorkOrderRow.response_due <= moment,
        WorkOrderRow.resolve_due.is_(None),
        WorkOrderRow.resolve_due <= moment,
    )
