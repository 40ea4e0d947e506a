"""A calendar PM plan's first due date, so that plans added together (a building's lifts) can be
spread out instead of all falling due the day they are created.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # NULL keeps the old meaning: a plan never done is due at once.
    op.add_column("pm_plans", sa.Column("first_due", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("pm_plans", "first_due")
