"""The initial schema: sites and devices, work orders with history and comments, alerts,
crews and technicians, SLA policies, PM plans and the orders they opened, API keys.

Every table is written out here rather than taken from the ORM models, so this revision stays
what it was when later revisions change the models. Constraint names follow the naming
convention in maintenance.sql (later revisions and SQLite batch mode find them by name).

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

STAMP = sa.DateTime(timezone=True)  # UTC; SQLite keeps it naive, maintenance.sql converts
ENUM = sa.String(32)  # StrEnum values as text: no native enum type to alter when one grows


def upgrade() -> None:
    _sites_and_devices()
    _work_orders()
    _alerts()
    _people()
    _sla_policies()
    _pm_plans()
    _api_keys()


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), nullable=False)


def _sites_and_devices() -> None:
    op.create_table(
        "sites",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_sites"),
    )
    op.create_table(
        "devices",
        _id(),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("building", sa.String(100), nullable=True),
        sa.Column("floor", sa.String(32), nullable=True),
        sa.Column("zone", sa.String(100), nullable=True),
        sa.Column("model", sa.String(100), nullable=True),
        sa.Column("install_date", sa.Date(), nullable=True),
        sa.Column("criticality", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_devices"),
        sa.ForeignKeyConstraint(["site"], ["sites.name"], name="fk_devices_site_sites"),
        sa.UniqueConstraint("site", "kind", "name", name="uq_devices_site_kind_name"),
    )


def _work_orders() -> None:
    op.create_table(
        "work_orders",
        _id(),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("priority", ENUM, nullable=False),
        sa.Column("status", ENUM, nullable=False),
        sa.Column("opened_at", STAMP, nullable=False),
        sa.Column("site", sa.String(64), nullable=True),
        sa.Column("device", sa.String(64), nullable=True),
        sa.Column("kind", sa.String(32), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("alert_signature", sa.String(200), nullable=True),
        sa.Column("response_due", STAMP, nullable=True),
        sa.Column("resolve_due", STAMP, nullable=True),
        sa.Column("acknowledged_at", STAMP, nullable=True),
        sa.Column("resolved_at", STAMP, nullable=True),
        sa.Column("closed_at", STAMP, nullable=True),
        sa.Column("assignee", sa.String(100), nullable=True),
        sa.Column("repeat_of", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_work_orders"),
        sa.ForeignKeyConstraint(
            ["repeat_of"], ["work_orders.id"], name="fk_work_orders_repeat_of_work_orders"
        ),
    )
    op.create_table(
        "work_order_history",
        _id(),
        sa.Column("work_order_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", STAMP, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("from_status", ENUM, nullable=True),
        sa.Column("to_status", ENUM, nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_work_order_history"),
        sa.ForeignKeyConstraint(
            ["work_order_id"],
            ["work_orders.id"],
            name="fk_work_order_history_work_order_id_work_orders",
        ),
        sa.UniqueConstraint("work_order_id", "seq", name="uq_work_order_history_work_order_id_seq"),
    )
    op.create_index("ix_work_order_history_work_order_id", "work_order_history", ["work_order_id"])
    op.create_table(
        "comments",
        _id(),
        sa.Column("work_order_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", STAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_comments"),
        sa.ForeignKeyConstraint(
            ["work_order_id"], ["work_orders.id"], name="fk_comments_work_order_id_work_orders"
        ),
    )
    op.create_index("ix_comments_work_order_id", "comments", ["work_order_id"])


def _alerts() -> None:
    op.create_table(
        "alerts",
        _id(),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("device", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(200), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("started_at", STAMP, nullable=False),
        sa.Column("updated_at", STAMP, nullable=False),
        sa.Column("state", ENUM, nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("cleared_at", STAMP, nullable=True),
        sa.Column("dismissed_reason", sa.Text(), nullable=True),
        sa.Column("work_order_id", sa.Integer(), nullable=True),
        sa.Column("expected", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
        sa.ForeignKeyConstraint(
            ["work_order_id"], ["work_orders.id"], name="fk_alerts_work_order_id_work_orders"
        ),
    )


def _people() -> None:
    op.create_table(
        "crews",
        _id(),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("site", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_crews"),
        sa.UniqueConstraint("name", name="uq_crews_name"),
    )
    op.create_table(
        "technicians",
        _id(),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("crew_id", sa.Integer(), nullable=True),
        sa.Column("contact", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_technicians"),
        sa.ForeignKeyConstraint(["crew_id"], ["crews.id"], name="fk_technicians_crew_id_crews"),
        sa.UniqueConstraint("name", name="uq_technicians_name"),
    )


def _sla_policies() -> None:
    op.create_table(
        "sla_policies",
        _id(),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("priority", ENUM, nullable=False),
        sa.Column("kind", sa.String(32), nullable=True),
        sa.Column("response_minutes", sa.Float(), nullable=False),
        sa.Column("resolve_minutes", sa.Float(), nullable=False),
        sa.Column("pause_on_hold", sa.Boolean(), nullable=False),
        sa.Column("due_soon_fraction", sa.Float(), nullable=False),
        sa.Column("escalation", sa.String(32), nullable=True),
        sa.Column("calendar_weekdays", sa.JSON(), nullable=True),
        sa.Column("calendar_opens", sa.Time(), nullable=True),
        sa.Column("calendar_closes", sa.Time(), nullable=True),
        sa.Column("calendar_holidays", sa.JSON(), nullable=True),
        sa.Column("calendar_zone", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_sla_policies"),
        sa.UniqueConstraint("name", name="uq_sla_policies_name"),
    )


def _pm_plans() -> None:
    op.create_table(
        "pm_plans",
        _id(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("site", sa.String(64), nullable=True),
        sa.Column("device", sa.String(64), nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("task", sa.Text(), nullable=False),
        sa.Column("priority", ENUM, nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("every_days", sa.Integer(), nullable=True),
        sa.Column("meter", sa.String(64), nullable=True),
        sa.Column("units", sa.Float(), nullable=True),
        sa.Column("metric", sa.String(64), nullable=True),
        sa.Column("within_days", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_pm_plans"),
    )
    op.create_table(
        "pm_orders",
        _id(),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("due_at", STAMP, nullable=False),
        sa.Column("work_order_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_pm_orders"),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["pm_plans.id"], name="fk_pm_orders_plan_id_pm_plans", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["work_order_id"], ["work_orders.id"], name="fk_pm_orders_work_order_id_work_orders"
        ),
        sa.UniqueConstraint("plan_id", "due_at", name="uq_pm_orders_plan_id_due_at"),
        sa.UniqueConstraint("work_order_id", name="uq_pm_orders_work_order_id"),
    )


def _api_keys() -> None:
    op.create_table(
        "api_keys",
        _id(),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("role", ENUM, nullable=False),
        sa.Column("key_hash", sa.String(128), nullable=False),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("revoked_at", STAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
    )


def downgrade() -> None:
    for table in (
        "api_keys", "pm_orders", "pm_plans", "sla_policies", "technicians", "crews", "alerts",
        "comments", "work_order_history", "work_orders", "devices", "sites",
    ):  # fmt: skip
        op.drop_table(table)
