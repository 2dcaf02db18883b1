"""How deployments look in a lineage graph (the backend hands this to the lineage service)."""

from __future__ import annotations

from sqlalchemy import Connection

from modelyard.domain.lineage import LineageNode, NodeKind, NodeRef
from modelyard.store.repos import deployments as deployment_rows


def describe_deployment(conn: Connection, name: str) -> LineageNode | None:
    found = deployment_rows.get(conn, name)
    if found is None:
        return None
    traffic = ", ".join(
        f"{v.name}={v.model_version} ({v.mode.value}{_share(v.weight, v.mode.value)})" for v in found.variants
    )
    return LineageNode(
        ref=NodeRef(kind=NodeKind.DEPLOYMENT, id=name),
        label=name,
        attributes={"status": f"revision {found.revision}", "traffic": traffic, "updated_at": found.updated_at},
    )


def _share(weight: float, mode: str) -> str:
    return f" {weight:g}%" if mode in ("canary", "ab") else ""
