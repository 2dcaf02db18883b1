"""Deployments, deployment variants and deployment events.

Revision ID: 0005_deployments
Revises: 0004_datasets
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_deployments"
down_revision = "0004_datasets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column("name", sa.String(256), primary_key=True),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("sticky_source", sa.String(16), nullable=True),
        sa.Column("sticky_name", sa.String(256), nullable=True),
        sa.Column("slo", sa.Text, nullable=True),
        sa.Column("previous_primary", sa.Text, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(256), nullable=False),
    )
    op.create_table(
        "deployment_variants",
        sa.Column("deployment", sa.String(256), sa.ForeignKey("deployments.name"), primary_key=True),
        sa.Column("name", sa.String(256), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("model_name", sa.String(256), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("weight", sa.Float, nullable=False),
        sa.Column("sample", sa.Float, nullable=False),
    )
    op.create_table(
        "deployment_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("deployment", sa.String(256), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(256), nullable=False),
        sa.Column("time_ms", sa.BigInteger, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("before", sa.Text, nullable=True),
        sa.Column("after", sa.Text, nullable=True),
        sa.Column("details", sa.Text, nullable=False),
    )
    op.create_index("ix_deployment_events_deployment", "deployment_events", ["deployment", "id"])


def downgrade() -> None:
    op.drop_table("deployment_events")
    op.drop_table("deployment_variants")
    op.drop_table("deployments")
