"""Pipeline runs, step runs and the step cache.

Revision ID: 0006_pipelines
Revises: 0005_deployments
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_pipelines"
down_revision = "0005_deployments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pipeline_runs",
        sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.run_id"), primary_key=True),
        sa.Column("pipeline", sa.String(256), nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("executor", sa.String(32), nullable=False),
        sa.Column("use_cache", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("ended_at", sa.BigInteger, nullable=True),
        sa.Column("resumed_from", sa.String(32), nullable=True),
    )
    op.create_index("ix_pipeline_runs_pipeline", "pipeline_runs", ["pipeline", "created_at"])
    op.create_table(
        "pipeline_step_runs",
        sa.Column("pipeline_run_id", sa.String(32), sa.ForeignKey("pipeline_runs.run_id"), primary_key=True),
        sa.Column("step_id", sa.String(256), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("run_id", sa.String(32), nullable=True),
        sa.Column("cache_key", sa.String(64), nullable=True),
        sa.Column("output_kind", sa.String(32), nullable=True),
        sa.Column("output_location", sa.Text, nullable=True),
        sa.Column("output_digest", sa.String(128), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("started_at", sa.BigInteger, nullable=True),
        sa.Column("ended_at", sa.BigInteger, nullable=True),
        sa.Column("upstream", sa.Text, nullable=False),
    )
    op.create_table(
        "pipeline_cache_entries",
        sa.Column("cache_key", sa.String(64), primary_key=True),
        sa.Column("pipeline", sa.String(256), nullable=False),
        sa.Column("step_id", sa.String(256), nullable=False),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("output_kind", sa.String(32), nullable=False),
        sa.Column("output_location", sa.Text, nullable=False),
        sa.Column("output_digest", sa.String(128), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("pipeline_cache_entries")
    op.drop_table("pipeline_step_runs")
    op.drop_index("ix_pipeline_runs_pipeline", table_name="pipeline_runs")
    op.drop_table("pipeline_runs")
