"""Deployments: optional micro-batching (max batch size, max wait) as a JSON column.

Revision ID: 0011_deployment_batching
Revises: 0010_pipeline_schedules
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_deployment_batching"
down_revision = "0010_pipeline_schedules"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deployments") as batch:
        batch.add_column(sa.Column("batching", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deployments") as batch:
        batch.drop_column("batching")
