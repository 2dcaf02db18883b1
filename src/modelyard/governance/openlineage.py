"""Lineage as OpenLineage run events, for Marquez, DataHub, Dataplex or any other OpenLineage consumer.

Each modelyard run in a graph becomes one OpenLineage run (``runId`` is the run id as a UUID) of the
job ``<experiment>/<run name>``, reported by two events as the spec asks: START, then COMPLETE,
FAIL or ABORT for a run that ended (a RUNNING run has only its START). Inputs are the dataset
versions the run read (with the ``version`` facet holding the content digest); outputs are the
models it logged and the registry versions made from them. A child run names its parent in the
``parent`` run facet. Everything else modelyard knows stays in a ``modelyard`` custom facet.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from modelyard.domain.lineage import LineageGraph, LineageNode, NodeKind, NodeRef, Relation

PRODUCER = "https://github.com/modelyard/modelyard"
NAMESPACE = "modelyard"
RUN_EVENT_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
_FACETS = "https://openlineage.io/spec/facets"
VERSION_FACET = f"{_FACETS}/1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet"
SCHEMA_FACET = f"{_FACETS}/1-1-1/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet"
PARENT_FACET = f"{_FACETS}/1-0-1/ParentRunFacet.json#/$defs/ParentRunFacet"
SOURCE_FACET = f"{_FACETS}/1-0-1/SourceCodeLocationJobFacet.json#/$defs/SourceCodeLocationJobFacet"
CUSTOM_FACET = "https://raw.githubusercontent.com/modelyard/modelyard/main/docs/openlineage-facet.json"
"""The custom facet's JSON schema: ``docs/openlineage-facet.json`` in the repository, shipped in the
package too (``modelyard/governance/openlineage-facet.json``, see ``custom_facet_schema``)."""

_TERMINAL = {"FINISHED": "COMPLETE", "FAILED": "FAIL", "KILLED": "ABORT"}


def run_events(graph: LineageGraph) -> list[dict[str, Any]]:
    """START and terminal events for every run in ``graph``, ordered by event time."""
    events: list[dict[str, Any]] = []
    for node in graph.nodes.values():
        if node.ref.kind is NodeKind.RUN and node.found:
            events.extend(_events_of_run(graph, node))
    return sorted(events, key=lambda e: (e["eventTime"], e["eventType"] != "START"))


def _events_of_run(graph: LineageGraph, run: LineageNode) -> list[dict[str, Any]]:
    attrs = run.attributes
    inputs = [_dataset(graph, e.source, e.properties) for e in _edges(graph, target=run.ref, relation=Relation.INPUT)]
    outputs = []
    for edge in _edges(graph, source=run.ref, relation=Relation.PRODUCED):
        outputs.append(_dataset(graph, edge.target, {}))
        for registered in _edges(graph, source=edge.target, relation=Relation.REGISTERED):
            outputs.append(_dataset(graph, registered.target, {}))
    run_facets: dict[str, Any] = {
        "modelyard": _facet(
            CUSTOM_FACET, {"runName": run.label, "status": attrs.get("status"), "user": attrs.get("user")}
        )
    }
    for edge in _edges(graph, target=run.ref, relation=Relation.PARENT):
        parent = graph.nodes.get(edge.source)
        if parent is not None:
            run_facets["parent"] = _facet(
                PARENT_FACET,
                {"run": {"runId": _uuid(parent.ref.id)}, "job": {"namespace": NAMESPACE, "name": _job(parent)}},
            )
    job_facets: dict[str, Any] = {}
    if attrs.get("git_commit"):
        job_facets["sourceCodeLocation"] = _facet(
            SOURCE_FACET, {"type": "git", "url": _uri(attrs.get("source")), "version": attrs["git_commit"]}
        )
    base = {
        "producer": PRODUCER,
        "schemaURL": RUN_EVENT_SCHEMA,
        "run": {"runId": _uuid(run.ref.id), "facets": run_facets},
        "job": {"namespace": NAMESPACE, "name": _job(run), "facets": job_facets},
        "inputs": inputs,
        "outputs": outputs,
    }
    events = [{"eventType": "START", "eventTime": _time(attrs.get("start_time")), **base}]
    terminal = _TERMINAL.get(str(attrs.get("status")))
    if terminal is not None:
        events.append(
            {"eventType": terminal, "eventTime": _time(attrs.get("end_time") or attrs.get("start_time")), **base}
        )
    return events


def _edges(
    graph: LineageGraph, *, relation: Relation, source: NodeRef | None = None, target: NodeRef | None = None
) -> list[Any]:
    return [
        e
        for e in graph.edges
        if e.relation is relation and (source is None or e.source == source) and (target is None or e.target == target)
    ]


def _dataset(graph: LineageGraph, ref: NodeRef, edge_properties: dict[str, Any]) -> dict[str, Any]:
    node = graph.nodes.get(ref) or LineageNode(ref=ref, label=ref.id)
    attrs = node.attributes
    facets: dict[str, Any] = {}
    version = attrs.get("digest") or attrs.get("version")
    if version is None and ref.kind is NodeKind.DATASET_VERSION and "@" in ref.id:
        version = ref.id.split("@", 1)[1]
    if version is not None:
        facets["version"] = _facet(VERSION_FACET, {"datasetVersion": str(version)})
    columns = attrs.get("columns")
    if isinstance(columns, dict) and columns:
        facets["schema"] = _facet(SCHEMA_FACET, {"fields": [{"name": k, "type": str(v)} for k, v in columns.items()]})
    custom = {"kind": ref.kind.value, "id": ref.id, **{k: v for k, v in edge_properties.items() if v is not None}}
    facets["modelyard"] = _facet(CUSTOM_FACET, custom)
    return {"namespace": NAMESPACE, "name": _dataset_name(node), "facets": facets}


def _dataset_name(node: LineageNode) -> str:
    if node.ref.kind is NodeKind.DATASET_VERSION:
        return str(node.attributes.get("name") or node.ref.id.split("@", 1)[0])
    if node.ref.kind is NodeKind.MODEL_VERSION:
        return f"models/{node.ref.id.split('/', 1)[0]}"
    return f"{node.ref.kind.value}/{node.ref.id}"


def _job(run: LineageNode) -> str:
    return f"{run.attributes.get('experiment', 'default')}/{run.label}"


def _facet(schema_url: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": schema_url, **body}


def _uri(source: Any) -> str:
    """The facet's ``url`` must be a URI (``format: uri``): a local path becomes a ``file:`` URI."""
    text = str(source or "")
    if "://" in text or text.startswith("file:"):
        return text
    path = Path(text)
    return path.as_uri() if path.is_absolute() else f"file:{quote(text)}"


def custom_facet_schema() -> dict[str, Any]:
    """The JSON schema of the ``modelyard`` custom facet (the document ``CUSTOM_FACET`` names)."""
    loaded: dict[str, Any] = json.loads((Path(__file__).parent / "openlineage-facet.json").read_text("utf-8"))
    return loaded


def _uuid(run_id: str) -> str:
    return str(uuid.UUID(hex=run_id))


def _time(ms: Any) -> str:
    stamp = datetime.fromtimestamp((ms or 0) / 1000, tz=UTC)
    return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")
