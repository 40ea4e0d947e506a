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


# The queue's filters come first (equality), its order last, so a page is an index range scan.
_INDEXES = {
    "ix_work_orders_queue": ["priority", "opened_at", "id"],
    "ix_work_orders_status_queue": ["status", "priority", "opened_at", "id"],
    "ix_work_orders_site_queue": ["site", "priority", "opened_at", "id"],
    "ix_work_orders_site_status_queue": ["site", "status", "priority", "opened_at", "id"],
}


def upgrade() -> None:
    for name, columns in _INDEXES.items():
        op.create_index(name, "work_orders", columns)


def downgrade() -> None:
    for name in _INDEXES:
        op.drop_index(name, table_name="work_orders")
