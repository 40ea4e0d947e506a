"""The notification outbox: SLA breaches escalated with `notify`, kept until delivered.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

STAMP = sa.DateTime(timezone=True)  # UTC; SQLite keeps it naive, maintenance.sql converts


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("work_order_id", sa.Integer, nullable=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("delivered_at", STAMP, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text, nullable=True),
    )
    op.create_index("ix_notifications_delivered_at", "notifications", ["delivered_at"])


def downgrade() -> None:
    op.drop_index("ix_notifications_delivered_at", table_name="notifications")
    op.drop_table("notifications")
