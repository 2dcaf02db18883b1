"""Scale: metric writes without foreign keys on PostgreSQL, and registry tag filters by index.

* A foreign key on PostgreSQL is a trigger that looks the parent row up for every inserted row: a
``log_batch`` of 1,000 values paid 1,000 look-ups of the same run. The service already checks, in
the same transaction, that the run exists and is active before it writes a metric, and runs are
never removed while metrics reference them (``runs gc`` deletes a run's metrics before the run),
so the constraint only repeated that check row by row. SQLite keeps its foreign keys: there they
cost little and its schema cannot drop one without rebuilding the table.
* Registry searches filter on tags (``tags.team = 'growth' AND tags.stage = 'prod'``): an index on
  (key, value) of the model and version tag tables lets the most selective tag start the search
  instead of a scan of every tag (19 ms of a 29 ms search at 10,000 models). On PostgreSQL the
  index holds ``md5(value)``, not the value: a tag value may be 5,000 characters, past what a
  btree entry holds, and the searches compare both.

Revision ID: 0015_scale_writes_and_tags
Revises: 0014_deployment_explain_sample
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_scale_writes_and_tags"
down_revision = "0014_deployment_explain_sample"
branch_labels = None
depends_on = None

_FOREIGN_KEYS = (("metrics", "fk_metrics_run_id_runs"), ("latest_metrics", "fk_latest_metrics_run_id_runs"))
_TAG_INDEXES = (
    ("ix_registered_model_tags_key_value", "registered_model_tags"),
    ("ix_model_version_tags_key_value", "model_version_tags"),
)


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name, table in _TAG_INDEXES:
        op.create_index(name, table, ["key", sa.text("md5(value)") if postgresql else "value"])
    if postgresql:
        for table, name in _FOREIGN_KEYS:
            op.drop_constraint(name, table, type_="foreignkey")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, name in _FOREIGN_KEYS:
            op.create_foreign_key(name, table, "runs", ["run_id"], ["run_id"])
    for name, table in _TAG_INDEXES:
        op.drop_index(name, table_name=table)
