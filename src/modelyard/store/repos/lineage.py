"""Lineage edges: written by whichever service makes the thing, in that service's transaction."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, or_, select

from modelyard.domain.lineage import LineageEdge, NodeKind, NodeRef, Relation
from modelyard.store.repos._upsert import upsert
from modelyard.store.tables import lineage_edges

_KEY = ("source_kind", "source_id", "target_kind", "target_id", "relation")


def add(
    conn: Connection,
    source: NodeRef,
    target: NodeRef,
    relation: Relation,
    *,
    now_ms: int,
    properties: dict[str, Any] | None = None,
) -> None:
    """Record ``source -> target``; recording the same edge again keeps the first one."""
    row = {
        "source_kind": source.kind.value,
        "source_id": source.id,
        "target_kind": target.kind.value,
        "target_id": target.id,
        "relation": relation.value,
        "properties": json.dumps(properties or {}, sort_keys=True),
        "created_at": now_ms,
    }
    upsert(conn, lineage_edges, [row], keys=_KEY, update=())


def upstream(conn: Connection, nodes: Sequence[NodeRef]) -> list[LineageEdge]:
    """Edges whose target is one of ``nodes``."""
    return _edges(conn, nodes, lineage_edges.c.target_kind, lineage_edges.c.target_id)


def downstream(conn: Connection, nodes: Sequence[NodeRef]) -> list[LineageEdge]:
    """Edges whose source is one of ``nodes``."""
    return _edges(conn, nodes, lineage_edges.c.source_kind, lineage_edges.c.source_id)


def _edges(conn: Connection, nodes: Sequence[NodeRef], kind_col: Any, id_col: Any) -> list[LineageEdge]:
    if not nodes:
        return []
    condition = or_(*((kind_col == n.kind.value) & (id_col == n.id) for n in nodes))
    rows = conn.execute(select(lineage_edges).where(condition).order_by(lineage_edges.c.id))
    return [_edge(r) for r in rows]


def _edge(row: Row) -> LineageEdge:  # type: ignore[type-arg]
    return LineageEdge(
        source=NodeRef(kind=NodeKind(row.source_kind), id=row.source_id),
        target=NodeRef(kind=NodeKind(row.target_kind), id=row.target_id),
        relation=Relation(row.relation),
        created_at=row.created_at,
        properties=json.loads(row.properties),
    )
