"""How the registry's nodes look in a lineage graph, and how ``models:/`` URIs name them.

The lineage service (governance) knows no registry table; the backend hands it these functions,
so each context describes its own records.
"""

from __future__ import annotations

from sqlalchemy import Connection

from modelyard.domain.lineage import LineageNode, NodeKind, NodeRef
from modelyard.registry._sources import version_for
from modelyard.registry.versions import version_ref
from modelyard.store.db import Database
from modelyard.store.repos import logged_models as logged_model_rows
from modelyard.store.repos import model_versions as version_rows
from modelyard.uris import parse_model_uri


def describe_logged_model(conn: Connection, model_id: str) -> LineageNode | None:
    logged = logged_model_rows.get(conn, model_id)
    if logged is None:
        return None
    return LineageNode(
        ref=NodeRef(kind=NodeKind.LOGGED_MODEL, id=model_id),
        label=f"runs:/{logged.run_id}/{logged.artifact_path}",
        attributes={
            "flavor": logged.flavor,
            "artifact_path": logged.artifact_path,
            "digest": logged.digest,
            "run_id": logged.run_id,
            "storage_uri": logged.storage_uri,
        },
    )


def describe_model_version(conn: Connection, node_id: str) -> LineageNode | None:
    name, _, number = node_id.rpartition("/")
    if not name or not number.isdigit():
        return None
    found = version_rows.get(conn, name, int(number))
    if found is None:
        return None
    return LineageNode(
        ref=NodeRef(kind=NodeKind.MODEL_VERSION, id=node_id),
        label=f"{found.name} v{found.version}",
        attributes={
            "name": found.name,
            "version": found.version,
            "stage": found.stage.value,
            "aliases": list(found.aliases),
            "digest": found.digest,
            "flavor": found.flavor,
            "run_id": found.run_id,
            "source": found.source,
            "creation_time": found.creation_time,
        },
    )


def model_version_node(db: Database, uri: str) -> NodeRef:
    """The version node ``models:/<name>/<version>`` or ``models:/<name>@<alias>`` names now."""
    with db.read() as conn:
        version = version_for(conn, parse_model_uri(uri))
    return version_ref(version.name, version.version)
