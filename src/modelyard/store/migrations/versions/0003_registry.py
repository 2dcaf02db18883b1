"""Logged models and the model registry: registered models, versions, aliases, tags.

Revision ID: 0003_registry
Revises: 0002_lineage
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_registry"
down_revision = "0002_lineage"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "logged_models",
        sa.Column("model_id", sa.String(64), primary_key=True),
        sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.run_id"), nullable=False),
        sa.Column("artifact_path", sa.String(512), nullable=False),
        sa.Column("storage_uri", sa.Text, nullable=False),
        sa.Column("flavor", sa.String(64), nullable=False),
        sa.Column("digest", sa.String(80), nullable=False),
        sa.Column("signature", sa.Text, nullable=True),
        sa.Column("created_time", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("run_id", "artifact_path", name="uq_logged_models_run_path"),
    )
    op.create_table(
        "registered_models",
        sa.Column("name", sa.String(256), primary_key=True),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("creation_time", sa.BigInteger, nullable=False),
        sa.Column("last_updated_time", sa.BigInteger, nullable=False),
        sa.Column("next_version", sa.Integer, nullable=False),
    )
    op.create_table(
        "registered_model_tags",
        sa.Column("name", sa.String(256), sa.ForeignKey("registered_models.name"), primary_key=True),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "model_versions",
        sa.Column("name", sa.String(256), sa.ForeignKey("registered_models.name"), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("model_id", sa.String(64), sa.ForeignKey("logged_models.model_id"), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("creation_time", sa.BigInteger, nullable=False),
        sa.Column("last_updated_time", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_model_versions_name_stage", "model_versions", ["name", "stage"])
    op.create_index("ix_model_versions_model_id", "model_versions", ["model_id"])
    op.create_table(
        "model_version_tags",
        sa.Column("name", sa.String(256), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.ForeignKeyConstraint(
            ["name", "version"],
            ["model_versions.name", "model_versions.version"],
            name="fk_model_version_tags_name_model_versions",
        ),
    )
    op.create_table(
        "model_aliases",
        sa.Column("name", sa.String(256), primary_key=True),
        sa.Column("alias", sa.String(256), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.ForeignKeyConstraint(
            ["name", "version"],
            ["model_versions.name", "model_versions.version"],
            name="fk_model_aliases_name_model_versions",
        ),
    )


def downgrade() -> None:
    for table in (
        "model_aliases",
        "model_version_tags",
        "model_versions",
        "registered_model_tags",
        "registered_models",
        "logged_models",
    ):
        op.drop_table(table)
