"""Lineage edges between datasets, runs, models, versions and deployments.

Revision ID: 0002_lineage
Revises: 0001_tracking
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_lineage"
down_revision = "0001_tracking"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lineage_edges",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("source_kind", sa.String(32), nullable=False),
        sa.Column("source_id", sa.String(256), nullable=False),
        sa.Column("target_kind", sa.String(32), nullable=False),
        sa.Column("target_id", sa.String(256), nullable=False),
        sa.Column("relation", sa.String(32), nullable=False),
        sa.Column("properties", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint(
            "source_kind", "source_id", "target_kind", "target_id", "relation", name="uq_lineage_edges_edge"
        ),
    )
    op.create_index("ix_lineage_edges_target", "lineage_edges", ["target_kind", "target_id"])


def downgrade() -> None:
    op.drop_table("lineage_edges")
