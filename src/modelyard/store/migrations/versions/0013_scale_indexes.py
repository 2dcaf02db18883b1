"""Scale: the latest-metric index carries the run id, so a search ordered by a metric walks it.

A search ordered by a metric reads ``latest_metrics`` in (key, value) order and joins each entry
to its run; with ``run_id`` in the index that walk is an index-only scan (no heap visit per entry)
and stops as soon as a page is full, however many runs the store holds.

Revision ID: 0013_scale_indexes
Revises: 0012_monitor_explainer
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0013_scale_indexes"
down_revision = "0012_monitor_explainer"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_latest_metrics_key_value_run", "latest_metrics", ["key", "value", "run_id"])
    op.drop_index("ix_latest_metrics_key_value", table_name="latest_metrics")


def downgrade() -> None:
    op.create_index("ix_latest_metrics_key_value", "latest_metrics", ["key", "value"])
    op.drop_index("ix_latest_metrics_key_value_run", table_name="latest_metrics")
