"""SLA policies, their business calendar flattened into columns."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, time, tzinfo
from typing import Any, cast, get_args
from zoneinfo import ZoneInfo

from sqlalchemy import select

from maintenance.sla import BusinessCalendar, Escalation, SlaPolicy
from maintenance.sql.base import Sessions, inserted, require, values_of
from maintenance.sql.schema import SlaPolicyRow
from maintenance.store import NotFound

__all__ = ["SqlSlaPolicies"]


class SqlSlaPolicies(Sessions):
    """SLA policies (SlaPolicyStore)."""

    def add_sla_policy(self, policy: SlaPolicy) -> SlaPolicy:
        with self._write() as session:
            return replace(policy, id=inserted(session, SlaPolicyRow(**_policy_values(policy))).id)

    def get_sla_policy(self, policy_id: int) -> SlaPolicy:
        with self._read() as session:
            return _policy(require(session, SlaPolicyRow, policy_id))

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
            row = require(session, SlaPolicyRow, policy.id)
            for name, value in _policy_values(policy).items():
                setattr(row, name, value)
        return policy

    def delete_sla_policy(self, policy_id: int) -> None:
        with self._write() as session:
            session.delete(require(session, SlaPolicyRow, policy_id))


def _policy_values(policy: SlaPolicy) -> dict[str, Any]:
    values = {k: v for k, v in values_of(policy).items() if k != "calendar"}
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
