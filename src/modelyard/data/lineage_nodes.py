"""How dataset versions look in a lineage graph (the backend hands this to the lineage service)."""

from __future__ import annotations

from sqlalchemy import Connection

from modelyard.domain.lineage import LineageNode, NodeKind, NodeRef
from modelyard.store.repos import datasets as dataset_rows


def describe_dataset_version(conn: Connection, node_id: str) -> LineageNode | None:
    name, _, digest = node_id.partition("@")
    found = dataset_rows.get_version(conn, name, digest) if name and digest else None
    if found is None:
        return None
    return LineageNode(
        ref=NodeRef(kind=NodeKind.DATASET_VERSION, id=node_id),
        label=found.name,
        attributes={
            "name": found.name,
            "digest": found.digest,
            "rows": found.row_count,
            "source": found.source_uri,
            "columns": {c.name: c.type for c in found.columns},
            "created_at": found.created_at,
        },
    )
