"""The notification outbox."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import delete, select

from maintenance.sql.base import Sessions, inserted, require, values_of
from maintenance.sql.schema import NotificationRow
from maintenance.store import Notification

__all__ = ["SqlNotifications"]


class SqlNotifications(Sessions):
    """The notification outbox (NotificationStore)."""

    def add_notification(self, notification: Notification) -> Notification:
        with self._write() as session:
            row = inserted(session, NotificationRow(**values_of(notification)))
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
            row = require(session, NotificationRow, notification_id)
            row.attempts += 1
            row.last_error = error
            if error is None:
                row.delivered_at = at


def _notification(row: NotificationRow) -> Notification:
    return Notification(row.id, row.work_order_id, row.text, row.created_at, row.delivered_at,
                        row.attempts, row.last_error)  # fmt: skip
