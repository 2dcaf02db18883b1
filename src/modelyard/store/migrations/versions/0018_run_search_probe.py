"""Scale: a search ordered by a metric checks each run it walks without reading the run's row.

Such a search walks the latest-metric index in order and, for each entry, looks the run up to test
its experiment, lifecycle stage and any attribute filter. At 1,000,000 runs those look-ups are
random reads of the runs table: a page of a 200,000-run experiment with a metric, a param, a tag and
a status filter walked 10,373 entries and spent 135 ms of its 190 ms on them. An index on run_id
that carries the columns the look-up tests (experiment, stage, status, start time for the tie
break) answers each with an index-only scan: the same page in 69-75 ms.

PostgreSQL only: SQLite has no ``INCLUDE``, and its look-ups read a local file page already cached.

Revision ID: 0018_run_search_probe
Revises: 0017_metric_history_index
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0018_run_search_probe"
down_revision = "0017_metric_history_index"
branch_labels = None
depends_on = None

_INDEX = "ix_runs_search_probe"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_index(
            _INDEX,
            "runs",
            ["run_id"],
            postgresql_include=["experiment_id", "lifecycle_stage", "status", "start_time"],
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index(_INDEX, table_name="runs")
