"""The inference log's segment index and the late-feedback labels.

``inference_segments`` holds one row per Parquet file written (the files live in the artifact
store); readers select the segments of a deployment overlapping a window through the
``(deployment, start_ms)`` and ``(deployment, end_ms)`` indexes. ``feedback`` is keyed by request
id: a corrected label replaces the earlier one.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text

from modelyard.store.tables.base import metadata

inference_segments = Table(
    "inference_segments",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("deployment", String(256), nullable=False),
    Column("start_ms", BigInteger, nullable=False),
    Column("end_ms", BigInteger, nullable=False),
    Column("row_count", Integer, nullable=False),
    Column("uri", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Index("ix_inference_segments_start", "deployment", "start_ms"),
    Index("ix_inference_segments_end", "deployment", "end_ms"),
)

feedback = Table(
    "feedback",
    metadata,
    Column("request_id", String(256), primary_key=True),
    Column("label", Text, nullable=False),  # JSON
    Column("time_ms", BigInteger, nullable=False),
    Index("ix_feedback_time", "time_ms"),
)
