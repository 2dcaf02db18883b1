"""How feature views and feature sources look in a lineage graph."""

from __future__ import annotations

from sqlalchemy import Connection

from modelyard.domain.features import DefinitionKind
from modelyard.domain.lineage import LineageNode, NodeKind, NodeRef
from modelyard.store.repos import features as rows


def describe_feature_view(conn: Connection, node_id: str) -> LineageNode | None:
    name, _, version = node_id.rpartition("/")
    if not name or not version.isdigit():
        return None
    found = next((r for r in rows.history(conn, DefinitionKind.FEATURE_VIEW, name) if r.version == int(version)), None)
    if found is None:
        return None
    spec = found.spec
    return LineageNode(
        ref=NodeRef(kind=NodeKind.FEATURE_VIEW, id=node_id),
        label=f"{name} v{version}",
        attributes={
            "name": name,
            "version": found.version,
            "entity": spec["entity"],
            "features": [f["name"] for f in spec["features"]] + [a["name"] for a in spec["aggregations"]],
            "ttl_s": spec["ttl_s"],
            "created_at": found.created_at,
            "created_by": found.created_by,
        },
    )


def describe_feature_source(conn: Connection, node_id: str) -> LineageNode | None:
    return LineageNode(ref=NodeRef(kind=NodeKind.FEATURE_SOURCE, id=node_id), label=node_id, attributes={})
