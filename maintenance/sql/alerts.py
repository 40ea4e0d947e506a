"""Alerts, versioned like work orders (people and analytics both change them)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import func, select, update

from maintenance.sql.base import Sessions, columns_of, inserted, require, values_of
from maintenance.sql.schema import AlertRow, WorkOrderRow
from maintenance.store import AlertQuery, AlertRecord, AlertState, NotFound, VersionConflict

__all__ = ["SqlAlerts"]


_LIVE_ALERT = [AlertState.OPEN, AlertState.ACKNOWLEDGED]


class SqlAlerts(Sessions):
    """Alerts (AlertStore)."""

    def add_alert(self, alert: AlertRecord) -> AlertRecord:
        with self._write() as session:
            if alert.work_order_id is not None:
                require(session, WorkOrderRow, alert.work_order_id)
            return replace(alert, id=inserted(session, AlertRow(**_alert_values(alert))).id)

    def update_alert(self, alert: AlertRecord) -> AlertRecord:
        """Store `alert` if the stored one is still at `alert.version`, else VersionConflict."""
        if alert.id is None:
            raise NotFound("an alert without an id was never stored: use add_alert")
        stored = replace(alert, version=alert.version + 1)
        with self._write() as session:
            if alert.work_order_id is not None:
                require(session, WorkOrderRow, alert.work_order_id)
            changed = session.execute(
                update(AlertRow)
                .where(AlertRow.id == alert.id, AlertRow.version == alert.version)
                .values(**_alert_values(stored))
            )
            if changed.rowcount == 0:  # type: ignore[attr-defined]
                require(session, AlertRow, alert.id)
                raise VersionConflict(f"alert {alert.id} changed since version {alert.version}")
        return stored

    def get_alert(self, alert_id: int) -> AlertRecord:
        with self._read() as session:
            return _alert(require(session, AlertRow, alert_id))

    def list_alerts(
        self, state: AlertState | None = None, site: str | None = None
    ) -> list[AlertRecord]:
        """Every alert in `state` at `site` (None: any), newest first."""
        return self.find_alerts(AlertQuery(state=state, site=site, limit=None))

    def find_alerts(self, query: AlertQuery) -> list[AlertRecord]:
        """A page of the alerts matching `query`, newest first."""
        statement = select(AlertRow)
        for name in ("state", "site", "work_order_id"):
            wanted = getattr(query, name)
            if wanted is not None:
                statement = statement.where(getattr(AlertRow, name) == wanted)
        newest = (AlertRow.started_at.desc(), AlertRow.id.desc())
        page = statement.order_by(*newest).offset(query.offset).limit(query.limit)
        with self._read() as session:
            return [_alert(row) for row in session.scalars(page)]

    def alert_counts(self) -> dict[tuple[AlertState, str], int]:
        """How many alerts there are by (state, severity)."""
        statement = select(AlertRow.state, AlertRow.severity, func.count()).group_by(
            AlertRow.state, AlertRow.severity
        )
        with self._read() as session:
            return {(state, severity): n for state, severity, n in session.execute(statement)}

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


def _alert_values(alert: AlertRecord) -> dict[str, Any]:
    return values_of(alert) | {"evidence": list(alert.evidence)}


def _alert(row: AlertRow) -> AlertRecord:
    values = columns_of(row, AlertRecord)
    return AlertRecord(**(values | {"evidence": tuple(values["evidence"])}))
