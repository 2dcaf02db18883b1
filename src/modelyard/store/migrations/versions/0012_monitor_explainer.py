"""Monitors: an optional model whose explainer computes attribution shift per window.

Revision ID: 0012_monitor_explainer
Revises: 0012_features
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_monitor_explainer"
down_revision = "0012_features"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("monitors") as batch:
        batch.add_column(sa.Column("explain_model", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("monitors") as batch:
        batch.drop_column("explain_model")
