"""When a run was deleted: ``runs.deleted_time``, so a purge can keep recent deletions restorable.

``modelyard runs gc --purge-deleted --deleted-older-than 30d`` removes only runs deleted longer
ago than 30 days; deleting a run sets the column, restoring it clears it. Runs already deleted
when this migration runs get the migration's time: their real deletion time is unknown, and
counting them as deleted "now" keeps them restorable for the full grace period instead of
purging them on the first gc after an upgrade.

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


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("deleted_time", sa.BigInteger(), nullable=True))
    op.execute(
        sa.text("UPDATE runs SET deleted_time = :now WHERE lifecycle_stage = 'deleted'").bindparams(
            now=int(time.time() * 1000)
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("deleted_time")
