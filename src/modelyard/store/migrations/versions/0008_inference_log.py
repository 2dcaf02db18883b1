"""Inference log segment index and late-feedback labels.

Revision ID: 0008_inference_log
Revises: 0007_governance
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_inference_log"
down_revision = "0007_governance"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inference_segments",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("deployment", sa.String(256), nullable=False),
        sa.Column("start_ms", sa.BigInteger, nullable=False),
        sa.Column("end_ms", sa.BigInteger, nullable=False),
        sa.Column("row_count", sa.Integer, nullable=False),
        sa.Column("uri", sa.Text, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_inference_segments_start", "inference_segments", ["deployment", "start_ms"])
    op.create_index("ix_inference_segments_end", "inference_segments", ["deployment", "end_ms"])
    op.create_table(
        "feedback",
        sa.Column("request_id", sa.String(256), primary_key=True),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("time_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_feedback_time", "feedback", ["time_ms"])


def downgrade() -> None:
    op.drop_table("feedback")
    op.drop_table("inference_segments")
