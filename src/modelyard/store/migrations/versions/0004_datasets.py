"""Datasets, dataset versions (content-addressed, with profiles) and run inputs.

Revision ID: 0004_datasets
Revises: 0003_registry
Create Date: 2026-11-28
"""

from __future__ import annotations

revision = "0004_datasets"
down_revision = "0003_registry"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
