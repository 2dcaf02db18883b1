"""Model uploads in progress, logged-model tags, and the id mapping of imports from MLflow.

Revision ID: 0012_model_uploads_and_imports
Revises: 0012_server_passwords
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_model_uploads_and_imports"
down_revision = "0012_server_passwords"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "logged_model_uploads",
        sa.Column("model_id", sa.String(64), primary_key=True),
        sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.run_id"), nullable=False),
        sa.Column("artifact_path", sa.String(512), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_time", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("run_id", "artifact_path", name="uq_logged_model_uploads_run_path"),
    )
    op.create_table(
        "logged_model_tags",
        sa.Column("model_id", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "import_mappings",
        sa.Column("source", sa.String(512), primary_key=True),
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("source_id", sa.String(512), primary_key=True),
        sa.Column("target_id", sa.String(512), nullable=False),
        sa.Column("created_time", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("import_mappings")
    op.drop_table("logged_model_tags")
    op.drop_table("logged_model_uploads")
