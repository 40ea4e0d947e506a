"""The KPI report of a period, gathered from the store: overall, per site and per kind.

kpis.py does the arithmetic on values; this module decides which records a period needs (open
orders and those touched since its start, what people said about alerts, which orders came
from PM plans, the SLA policies) and how the figures are grouped.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from maintenance.domain import WorkOrder
from maintenance.kpis import compute_kpis, compute_kpis_by
from maintenance.sla import SlaPolicy
from maintenance.store import AlertState, Store, WorkOrderQuery

__all__ = ["DEFAULT_KPI_PERIOD", "kpi_report", "trend_point"]

DEFAULT_KPI_PERIOD = timedelta(days=30)
"""The period a KPI report covers when only one end (or neither) is given."""

_OUTCOMES = {AlertState.ACKNOWLEDGED: "confirmed", AlertState.DISMISSED: "dismissed"}


def kpi_report(store: Store, start: datetime, end: datetime) -> dict[str, Any]:
    """KPIs for [start, end) as JSON-ready values: {from, to, overall, by_site, by_kind}.
    Only orders that matter for the period are loaded: open ones and those touched since."""
    query = WorkOrderQuery(touched_since=start, limit=10_000_000)
    orders = [o for o in store.list_orders(query) if o.opened_at < end]
    planned = set(store.pm_orders().values())
    policies = store.sla_policies()
    overall = compute_kpis(orders, start, end, _alert_outcomes(store), planned, policies=policies)
    return {
        "from": start.isoformat(), "to": end.isoformat(),
        "overall": overall.as_dict(),
        "by_site": _by(orders, lambda o: o.site or "-", start, end, planned, policies),
        "by_kind": _by(orders, lambda o: o.kind or "-", start, end, planned, policies),
    }  # fmt: skip


def trend_point(report: dict[str, Any]) -> dict[str, Any]:
    """A report's overall figures for a trend chart: without the per-device and per-kind
    MTBF maps, which a point on a line cannot show."""
    overall = {k: v for k, v in report["overall"].items() if not k.startswith("mtbf_hours_by")}
    return {"from": report["from"], "to": report["to"], **overall}


def _by(
    orders: list[WorkOrder],
    key: Callable[[WorkOrder], str],
    start: datetime,
    end: datetime,
    planned: set[int],
    policies: list[SlaPolicy],
) -> dict[str, Any]:
    by = compute_kpis_by(orders, key, start, end, planned, policies)
    return {name: kpis.as_dict() for name, kpis in by.items()}


def _alert_outcomes(store: Store) -> list[tuple[datetime, str]]:
    """What people said about alerts: confirmed (acknowledged) or dismissed."""
    return [(a.updated_at, said) for state, said in _OUTCOMES.items()
            for a in store.list_alerts(state)]  # fmt: skip
