"""Tracking: experiments, runs, params, tags, metrics, environments.

Revision ID: 0001_tracking
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_tracking"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("experiment_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("artifact_location", sa.Text, nullable=False),
        sa.Column("lifecycle_stage", sa.String(16), nullable=False),
        sa.Column("creation_time", sa.BigInteger, nullable=False),
        sa.Column("last_update_time", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("name", name="uq_experiments_name"),
    )
    op.create_table(
        "experiment_tags",
        sa.Column("experiment_id", sa.Integer, sa.ForeignKey("experiments.experiment_id"), primary_key=True),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "environments",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("python_version", sa.String(64), nullable=False),
        sa.Column("platform", sa.String(256), nullable=False),
        sa.Column("packages", sa.Text, nullable=False),
    )
    op.create_table(
        "runs",
        sa.Column("run_id", sa.String(32), primary_key=True),
        sa.Column("experiment_id", sa.Integer, sa.ForeignKey("experiments.experiment_id"), nullable=False),
        sa.Column("run_name", sa.String(250), nullable=False),
        sa.Column("user", sa.String(256), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("start_time", sa.BigInteger, nullable=False),
        sa.Column("end_time", sa.BigInteger, nullable=True),
        sa.Column("heartbeat_time", sa.BigInteger, nullable=True),
        sa.Column("lifecycle_stage", sa.String(16), nullable=False),
        sa.Column("artifact_uri", sa.Text, nullable=False),
        sa.Column("parent_run_id", sa.String(32), sa.ForeignKey("runs.run_id"), nullable=True),
        sa.Column("source_name", sa.Text, nullable=True),
        sa.Column("source_git_commit", sa.String(64), nullable=True),
        sa.Column("source_git_dirty", sa.Boolean, nullable=True),
        sa.Column("environment_digest", sa.String(64), sa.ForeignKey("environments.digest"), nullable=True),
    )
    op.create_index("ix_runs_experiment_stage_start", "runs", ["experiment_id", "lifecycle_stage", "start_time"])
    op.create_index("ix_runs_status_heartbeat", "runs", ["status", "heartbeat_time"])
    op.create_index("ix_runs_parent_run_id", "runs", ["parent_run_id"])
    op.create_table(
        "params",
        sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.run_id"), primary_key=True),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.String(6000), nullable=False),
    )
    op.create_table(
        "tags",
        sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.run_id"), primary_key=True),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.String(8000), nullable=False),
    )
    op.create_table(
        "metrics",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.run_id"), nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", sa.Double, nullable=True),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("step", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_metrics_run_key_step", "metrics", ["run_id", "key", "step"])
    op.create_table(
        "latest_metrics",
        sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.run_id"), primary_key=True),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.Double, nullable=True),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("step", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_latest_metrics_key_value", "latest_metrics", ["key", "value"])


def downgrade() -> None:
    for table in (
        "latest_metrics",
        "metrics",
        "tags",
        "params",
        "runs",
        "environments",
        "experiment_tags",
        "experiments",
    ):
        op.drop_table(table)
