"""Datasets, dataset versions (content-addressed, with profiles) and run inputs.

Revision ID: 0004_datasets
Revises: 0003_registry
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_datasets"
down_revision = "0003_registry"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("name", sa.String(256), primary_key=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "dataset_versions",
        sa.Column("dataset_name", sa.String(256), sa.ForeignKey("datasets.name"), primary_key=True),
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("schema", sa.Text, nullable=False),
        sa.Column("row_count", sa.BigInteger, nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("source_uri", sa.Text, nullable=True),
        sa.Column("storage_uri", sa.Text, nullable=False),
        sa.Column("profile", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(256), nullable=False),
    )
    op.create_table(
        "run_inputs",
        sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.run_id"), primary_key=True),
        sa.Column("dataset_name", sa.String(256), primary_key=True),
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(16), primary_key=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_name", "digest"],
            ["dataset_versions.dataset_name", "dataset_versions.digest"],
            name="fk_run_inputs_dataset_name_dataset_versions",
        ),
    )
    op.create_index("ix_run_inputs_version", "run_inputs", ["dataset_name", "digest"])


def downgrade() -> None:
    op.drop_table("run_inputs")
    op.drop_table("dataset_versions")
    op.drop_table("datasets")
