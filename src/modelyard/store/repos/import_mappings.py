"""Ids of imported things: (source, kind, source id) -> modelyard id (see ``tables.imports``)."""

from __future__ import annotations

from sqlalchemy import Connection, select

from modelyard.store.repos._upsert import upsert
from modelyard.store.tables.imports import import_mappings


def get_all(conn: Connection, source: str, kind: str) -> dict[str, str]:
    rows = conn.execute(
        select(import_mappings.c.source_id, import_mappings.c.target_id).where(
            (import_mappings.c.source == source) & (import_mappings.c.kind == kind)
        )
    )
    return {r.source_id: r.target_id for r in rows}


def put(conn: Connection, source: str, kind: str, source_id: str, target_id: str, *, now_ms: int) -> None:
    upsert(
        conn,
        import_mappings,
        [{"source": source, "kind": kind, "source_id": source_id, "target_id": target_id, "created_time": now_ms}],
        keys=("source", "kind", "source_id"),
        update=("target_id",),
    )
