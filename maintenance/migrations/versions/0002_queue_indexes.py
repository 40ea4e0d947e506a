"""Indexes for the two hottest lookups: the work queue by status and priority, and the
"is this alert already open?" check on every alert change (site, device, signature).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index("ix_work_orders_status_priority", "work_orders", ["status", "priority"])
    op.create_index(
        "ix_work_orders_site_device_alert_signature",
        "work_orders",
        ["site", "device", "alert_signature"],
    )
    op.create_index("ix_alerts_site_device_signature", "alerts", ["site", "device", "signature"])


def downgrade() -> None:
    op.drop_index("ix_alerts_site_device_signature", table_name="alerts")
    op.drop_index("ix_work_orders_site_device_alert_signature", table_name="work_orders")
    op.drop_index("ix_work_orders_status_priority", table_name="work_orders")
