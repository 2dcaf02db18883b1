"""Deployments: the share of answered requests whose SHAP attributions a server writes to the inference log.

Revision ID: 0014_deployment_explain_sample
Revises: 0013_scale_indexes
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_deployment_explain_sample"
down_revision = "0013_scale_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deployments") as batch:
        batch.add_column(sa.Column("explain_sample", sa.Float, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deployments") as batch:
        batch.drop_column("explain_sample")
