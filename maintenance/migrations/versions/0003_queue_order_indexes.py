"""Indexes in queue order (priority, then oldest first), so a page of the queue is read in
order instead of sorting a whole site's orders (measured in docs/benchmarks.md).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index("ix_work_orders_queue", "work_orders", ["priority", "opened_at", "id"])
    op.create_index(
        "ix_work_orders_site_queue", "work_orders", ["site", "priority", "opened_at", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_work_orders_site_queue", table_name="work_orders")
    op.drop_index("ix_work_orders_queue", table_name="work_orders")
