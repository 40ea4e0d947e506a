"""A version on each alert, so that people acknowledging or dismissing an alert and the
analytics service updating or clearing it never overwrite each other's change.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as alerts:  # SQLite rebuilds the table for NOT NULL
        alerts.add_column(sa.Column("version", sa.Integer, nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("alerts") as alerts:
        alerts.drop_column("version")
