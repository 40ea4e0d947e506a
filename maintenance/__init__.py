"""Alerts, work orders, SLA policies, preventive maintenance and KPIs (SQLAlchemy at the edge).

Pure rules: domain.py (lifecycle), sla.py, kpis.py, pm.py, desk.py (alerts to work orders),
jobs.py. The database: store.py (the protocol), sql.py and migrations/ (SQLAlchemy, Alembic).
"""

from maintenance.alerting import (
    AlertTransitionRefused,
    acknowledge_alert,
    dismiss_alert,
    open_alerts_by_device,
)
from maintenance.desk import AlertNotice, Desk, DeskSettings, FixNotVerified
from maintenance.domain import (
    ACTIVE_STATUSES,
    Action,
    InvalidTransition,
    Priority,
    Status,
    WorkOrder,
)
from maintenance.kpi_report import DEFAULT_KPI_PERIOD, kpi_report, trend_point
from maintenance.migrate import upgrade
from maintenance.pm import EveryDays, EveryUsage, PmPlan, Trigger
from maintenance.pm_triggers import InvalidPlan, pm_trigger
from maintenance.sla import BusinessCalendar, SlaPolicy, SlaState, choose_policy, sla_status
from maintenance.sql import DatabaseNotMigrated, SqlStore
from maintenance.store import (
    AlertRecord,
    AlertState,
    ApiKey,
    Comment,
    Duplicate,
    NotFound,
    Role,
    Store,
    VersionConflict,
    WorkOrderQuery,
)

__all__ = [
    "ACTIVE_STATUSES",
    "DEFAULT_KPI_PERIOD",
    "Action",
    "AlertNotice",
    "AlertRecord",
    "AlertState",
    "AlertTransitionRefused",
    "ApiKey",
    "BusinessCalendar",
    "Comment",
    "DatabaseNotMigrated",
    "Desk",
    "DeskSettings",
    "Duplicate",
    "EveryDays",
    "EveryUsage",
    "FixNotVerified",
    "InvalidPlan",
    "InvalidTransition",
    "NotFound",
    "PmPlan",
    "Priority",
    "Role",
    "SlaPolicy",
    "SlaState",
    "SqlStore",
    "Status",
    "Store",
    "Trigger",
    "VersionConflict",
    "WorkOrder",
    "WorkOrderQuery",
    "acknowledge_alert",
    "choose_policy",
    "dismiss_alert",
    "kpi_report",
    "open_alerts_by_device",
    "pm_trigger",
    "sla_status",
    "trend_point",
    "upgrade",
]
