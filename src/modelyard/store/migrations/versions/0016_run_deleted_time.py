"""When a run was deleted: ``runs.deleted_time``, so a purge can keep recent deletions restorable.

``modelyard runs gc --purge-deleted --deleted-older-than 30d`` removes only runs deleted longer
ago than 30 days; deleting a run sets the column, restoring it clears it. Runs already deleted
when this migration runs get the migration's time: their real deletion time is unknown, and
counting them as deleted "now" keeps them restorable for the full grace period instead of
purging them on the first gc after an upgrade.

Three indexes let the purge ask "does anything still refer to these runs?" per batch of run ids
without scanning: pipeline step runs and cache entries by run id, import mappings by the id they
map to.

Revision ID: 0016_run_deleted_time
Revises: 0015_scale_writes_and_tags
Create Date: 2026-12-06
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from alembic import op

revision = "0016_run_deleted_time"
down_revision = "0015_scale_writes_and_tags"
branch_labels = None
depends_on = None


_INDEXES = (
    ("ix_pipeline_step_runs_run_id", "pipeline_step_runs", ["run_id"]),
    ("ix_pipeline_cache_entries_run_id", "pipeline_cache_entries", ["run_id"]),
    ("ix_import_mappings_kind_target", "import_mappings", ["kind", "target_id"]),
)


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("deleted_time", sa.BigInteger(), nullable=True))
    for name, table, columns in _INDEXES:
        op.create_index(name, table, columns)
    op.execute(
        sa.text("UPDATE runs SET deleted_time = :now WHERE lifecycle_stage = 'deleted'").bindparams(
            now=int(time.time() * 1000)
        )
    )


def downgrade() -> None:
    for name, table, _ in _INDEXES:
        op.drop_index(name, table_name=table)
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("deleted_time")
