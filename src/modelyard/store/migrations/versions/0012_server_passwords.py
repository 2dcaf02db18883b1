"""Users: an optional Argon2id password hash, for the server's username/password login.

Revision ID: 0012_server_passwords
Revises: 0011_deployment_batching
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_server_passwords"
down_revision = "0011_deployment_batching"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("password_hash", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("password_hash")
