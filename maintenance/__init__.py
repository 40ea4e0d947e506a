"""Alerts, work orders, SLA policies, preventive maintenance and KPIs (SQLAlchemy at the edge).

Pure rules: domain.py (lifecycle), sla.py, kpis.py, pm.py, desk.py (alerts to work orders),
jobs.py. The database: store.py (the protocol), sql.py and migrations/ (SQLAlchemy, Alembic).
"""

from maintenance.desk import AlertNotice, Desk, DeskSettings, priority_for
from maintenance.domain import ACTIONS, Action, InvalidTransition, Priority, Status, WorkOrder
from maintenance.jobs import DeviceOutlook, generate_pm_orders, sweep_sla
from maintenance.migrate import upgrade
from maintenance.outbox import Outbox, OutboxItem, Send, deliver_outbox
from maintenance.outlooks import read_outlooks
from maintenance.pm import PLAN_TEMPLATES, PmPlan, plans_for_devices
from maintenance.seeding import seed_site_plans, seed_sla_policies, site_plans
from maintenance.sla import DEFAULT_POLICIES, SlaPolicy, choose_policy, due_times
from maintenance.sql import DatabaseNotMigrated, DeviceInfo, SqlStore, for_writing, metadata
from maintenance.store import NotFound, Role, Store, VersionConflict

__all__ = [
    "ACTIONS",
    "DEFAULT_POLICIES",
    "PLAN_TEMPLATES",
    "Action",
    "AlertNotice",
    "DatabaseNotMigrated",
    "Desk",
    "DeskSettings",
    "DeviceInfo",
    "DeviceOutlook",
    "InvalidTransition",
    "NotFound",
    "Outbox",
    "OutboxItem",
    "PmPlan",
    "Priority",
    "Role",
    "Send",
    "SlaPolicy",
    "SqlStore",
    "Status",
    "Store",
    "VersionConflict",
    "WorkOrder",
    "choose_policy",
    "deliver_outbox",
    "due_times",
    "for_writing",
    "generate_pm_orders",
    "metadata",
    "plans_for_devices",
    "priority_for",
    "read_outlooks",
    "seed_site_plans",
    "seed_sla_policies",
    "site_plans",
    "sweep_sla",
    "upgrade",
]
