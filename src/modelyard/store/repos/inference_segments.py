"""The index of the inference log's Parquet segments: what a window reader queries instead of listing files."""

from __future__ import annotations

from sqlalchemy import Connection, Row, select

from modelyard.domain.inference import InferenceSegment
from modelyard.store.tables.inference import inference_segments


def add(conn: Connection, segment: InferenceSegment) -> None:
    conn.execute(
        inference_segments.insert().values(
            id=segment.id,
            deployment=segment.deployment,
            start_ms=segment.start_ms,
            end_ms=segment.end_ms,
            row_count=segment.row_count,
            uri=segment.uri,
            created_ms=segment.created_ms,
        )
    )


def overlapping(conn: Connection, deployment: str, start_ms: int, end_ms: int) -> list[InferenceSegment]:
    """Segments of ``deployment`` holding any row with ``start_ms <= time_ms < end_ms``, oldest first."""
    t = inference_segments.c
    stmt = (
        select(inference_segments)
        .where(t.deployment == deployment, t.start_ms < end_ms, t.end_ms >= start_ms)
        .order_by(t.start_ms, t.id)
    )
    return [_segment(row) for row in conn.execute(stmt)]


def _segment(row: Row) -> InferenceSegment:  # type: ignore[type-arg]
    return InferenceSegment(
        id=row.id,
        deployment=row.deployment,
        start_ms=int(row.start_ms),
        end_ms=int(row.end_ms),
        row_count=int(row.row_count),
        uri=row.uri,
        created_ms=int(row.created_ms),
    )
