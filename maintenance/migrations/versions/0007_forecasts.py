"""Forecasts in the work-order database instead of a JSON file in the state directory: one
refresh is one transaction, so a crash mid-write or two analytics processes leave either the
old forecasts or the new ones, never a mix or nothing.

`forecast_runs` has a single row (id 1): when the forecasts were computed. Writers update it
first, which also queues them one behind the other.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

MS = sa.BigInteger  # epoch milliseconds, as analytics computes them


def upgrade() -> None:
    runs = op.create_table(
        "forecast_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("computed_ms", MS, nullable=True),
    )
    op.bulk_insert(runs, [{"id": 1, "computed_ms": None}])
    op.create_table(
        "forecasts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("device", sa.String(64), nullable=False),
        sa.Column("health_metric", sa.String(64), nullable=True),
        sa.Column("health_crossing_ms", MS, nullable=True),
        sa.Column("health_earliest_ms", MS, nullable=True),
        sa.Column("health_latest_ms", MS, nullable=True),
        sa.Column("health_reason", sa.Text, nullable=True),
        sa.Column("usage_meter", sa.String(64), nullable=True),
        sa.Column("usage_reading", sa.Float, nullable=True),
        sa.Column("usage_per_day", sa.Float, nullable=True),
        sa.Column("usage_due_at", sa.Float, nullable=True),
        sa.Column("usage_due_ms", MS, nullable=True),
        sa.UniqueConstraint("site", "device", name="uq_forecasts_site_device"),
    )


def downgrade() -> None:
    op.drop_table("forecasts")
    op.drop_table("forecast_runs")
