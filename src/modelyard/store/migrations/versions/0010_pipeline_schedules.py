"""Pipeline schedules: cron and dataset-version triggers.

Revision ID: 0010_pipeline_schedules
Revises: 0009_monitoring
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_pipeline_schedules"
down_revision = "0009_monitoring"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pipeline_schedules",
        sa.Column("schedule_id", sa.String(32), primary_key=True),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("executor", sa.String(32), nullable=False),
        sa.Column("cron", sa.String(256), nullable=True),
        sa.Column("on_dataset", sa.String(256), nullable=True),
        sa.Column("dataset_param", sa.String(256), nullable=True),
        sa.Column("next_fire_at", sa.BigInteger, nullable=True),
        sa.Column("last_dataset_digest", sa.String(128), nullable=True),
        sa.Column("last_dataset_at", sa.BigInteger, nullable=True),
        sa.Column("last_fired_at", sa.BigInteger, nullable=True),
        sa.Column("last_run_id", sa.String(32), nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(256), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("pipeline_schedules")
