"""Alerts, work orders, SLA policies, preventive maintenance and KPIs (SQLAlchemy at the edge).

Pure rules: domain.py (lifecycle), sla.py, kpis.py, pm.py, desk.py (alerts to work orders),
jobs.py. The database: store.py (the protocol), sql.py and migrations/ (SQLAlchemy, Alembic).
"""

from maintenance.desk import AlertNotice, Desk, DeskSettings
from maintenance.domain import Action, InvalidTransition, Priority, Status, WorkOrder
from maintenance.jobs import DeviceOutlook, generate_pm_orders, sweep_sla
from maintenance.migrate import upgrade
from maintenance.outbox import Outbox, OutboxItem, Send, deliver_outbox
from maintenance.outlooks import read_outlooks
from maintenance.sla import SlaPolicy
from maintenance.sql import DatabaseNotMigrated, SqlStore
from maintenance.store import NotFound, Role, Store, VersionConflict

__all__ = [
    "Action",
    "AlertNotice",
    "DatabaseNotMigrated",
    "Desk",
    "DeskSettings",
    "DeviceOutlook",
    "InvalidTransition",
    "NotFound",
    "Outbox",
    "OutboxItem",
    "Priority",
    "Role",
    "Send",
    "SlaPolicy",
    "SqlStore",
    "Status",
    "Store",
    "VersionConflict",
    "WorkOrder",
    "deliver_outbox",
    "generate_pm_orders",
    "read_outlooks",
    "sweep_sla",
    "upgrade",
]
