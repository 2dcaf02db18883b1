"""Monitors, monitor results, alert rules and alerts.

Revision ID: 0009_monitoring
Revises: 0008_inference_log
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_monitoring"
down_revision = "0008_inference_log"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "monitors",
        sa.Column("name", sa.String(256), primary_key=True),
        sa.Column("deployment", sa.String(256), nullable=False),
        sa.Column("reference", sa.Text, nullable=False),
        sa.Column("window_ms", sa.BigInteger, nullable=True),
        sa.Column("every_rows", sa.Integer, nullable=True),
        sa.Column("target", sa.String(256), nullable=True),
        sa.Column("task", sa.String(32), nullable=False),
        sa.Column("thresholds", sa.Text, nullable=False),
        sa.Column("cursor_ms", sa.BigInteger, nullable=True),
        sa.Column("max_sample_rows", sa.Integer, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(256), nullable=False),
    )
    op.create_index("ix_monitors_deployment", "monitors", ["deployment"])
    op.create_table(
        "monitor_results",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("monitor", sa.String(256), nullable=False),
        sa.Column("deployment", sa.String(256), nullable=False),
        sa.Column("start_ms", sa.BigInteger, nullable=False),
        sa.Column("end_ms", sa.BigInteger, nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("metrics", sa.Text, nullable=False),
        sa.Column("drift", sa.Text, nullable=False),
        sa.Column("distributions", sa.Text, nullable=False),
        sa.Column("sampled", sa.Boolean, nullable=False),
        sa.Column("sample_rows", sa.BigInteger, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_monitor_results_monitor_end", "monitor_results", ["monitor", "end_ms"])
    op.create_table(
        "alert_rules",
        sa.Column("monitor", sa.String(256), primary_key=True),
        sa.Column("name", sa.String(256), primary_key=True),
        sa.Column("expression", sa.Text, nullable=False),
        sa.Column("webhooks", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=True),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("rule", sa.String(256), nullable=False),
        sa.Column("monitor", sa.String(256), nullable=False),
        sa.Column("deployment", sa.String(256), nullable=False),
        sa.Column("expression", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("window_start_ms", sa.BigInteger, nullable=False),
        sa.Column("window_end_ms", sa.BigInteger, nullable=False),
        sa.Column("opened_ms", sa.BigInteger, nullable=False),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
        sa.Column("acknowledged_by", sa.String(256), nullable=True),
        sa.Column("resolved_by", sa.String(256), nullable=True),
        sa.Column("notifications", sa.Text, nullable=False),
        sa.Column("action_result", sa.Text, nullable=True),
    )
    op.create_index("ix_alerts_monitor_rule", "alerts", ["monitor", "rule", "opened_ms"])
    op.create_index("ix_alerts_status", "alerts", ["status"])


def downgrade() -> None:
    op.drop_table("alerts")
    op.drop_table("alert_rules")
    op.drop_table("monitor_results")
    op.drop_table("monitors")
