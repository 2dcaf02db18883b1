"""Metric writes on PostgreSQL: no foreign keys from the metric tables to ``runs``.

A foreign key on PostgreSQL is a trigger that looks the parent row up for every inserted row: a
``log_batch`` of 1,000 values paid 1,000 look-ups of the same run. The service already checks, in
the same transaction, that the run exists and is active before it writes a metric, and runs are
never removed while metrics reference them (``runs gc`` deletes a run's metrics before the run),
so the constraint only repeated that check row by row. SQLite keeps its foreign keys: there they
cost little and its schema cannot drop one without rebuilding the table.

Revision ID: 0014_metric_writes
Revises: 0013_scale_indexes
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0014_metric_writes"
down_revision = "0013_scale_indexes"
branch_labels = None
depends_on = None

_FOREIGN_KEYS = (("metrics", "fk_metrics_run_id_runs"), ("latest_metrics", "fk_latest_metrics_run_id_runs"))


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, name in _FOREIGN_KEYS:
        op.drop_constraint(name, table, type_="foreignkey")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, name in _FOREIGN_KEYS:
        op.create_foreign_key(name, table, "runs", ["run_id"], ["run_id"])
