"""Alerts, work orders, SLA policies, preventive maintenance and KPIs (SQLAlchemy at the edge).

Pure rules: domain.py (lifecycle), sla.py, kpis.py, pm.py, desk.py (alerts to work orders),
jobs.py. The database: store.py (the protocol), sql.py and migrations/ (SQLAlchemy, Alembic).
"""

from maintenance.desk import AlertNotice, Desk, DeskSettings
from maintenance.domain import Action, InvalidTransition, Priority, Status, WorkOrder
from maintenance.migrate import upgrade
from maintenance.queue import is_breached, orders_page
from maintenance.sla import SlaPolicy
from maintenance.sql import DatabaseNotMigrated, SqlStore
from maintenance.store import NotFound, Role, Store, VersionConflict

__all__ = [
    "Action",
    "AlertNotice",
    "DatabaseNotMigrated",
    "Desk",
    "DeskSettings",
    "InvalidTransition",
    "NotFound",
    "Priority",
    "Role",
    "SlaPolicy",
    "SqlStore",
    "Status",
    "Store",
    "VersionConflict",
    "WorkOrder",
    "is_breached",
    "orders_page",
    "upgrade",
]
