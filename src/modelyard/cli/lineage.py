"""``modelyard lineage URI``: where a run, model version or dataset version came from, and what was
made from it, as a tree, JSON or OpenLineage run events."""

from __future__ import annotations

import enum
from typing import Annotated, Any

import typer

from modelyard.cli._backend import backend
from modelyard.cli._output import console, print_json
from modelyard.domain.lineage import LineageEdge, LineageGraph
from modelyard.governance import openlineage_run_events
from modelyard.governance.lineage import DEFAULT_MAX_DEPTH
from modelyard.sdk.lineage import lineage_tree


class Format(enum.StrEnum):
    TREE = "tree"
    JSON = "json"
    OPENLINEAGE = "openlineage"


def lineage(
    uri: Annotated[
        str, typer.Argument(help="runs:/ID, models:/NAME/VERSION, models:/NAME@ALIAS or datasets:/NAME@DIGEST")
    ],
    format_: Annotated[Format, typer.Option("--format", "-f", help="tree, json or openlineage.")] = Format.TREE,
    depth: Annotated[int, typer.Option("--depth", help="How many edges to follow each way.")] = DEFAULT_MAX_DEPTH,
) -> None:
    """Show the upstream and downstream lineage of a run, model version or dataset version."""
    service = backend().lineage
    graph = service.graph(service.resolve(uri), max_depth=depth)
    if format_ is Format.JSON:
        print_json(_as_json(graph))
    elif format_ is Format.OPENLINEAGE:
        print_json(openlineage_run_events(graph))
    else:
        console.print(lineage_tree(graph))


def _as_json(graph: LineageGraph) -> dict[str, Any]:
    def edge(e: LineageEdge) -> dict[str, Any]:
        return {
            "source": str(e.source),
            "target": str(e.target),
            "relation": e.relation.value,
            "properties": e.properties,
            "created_at": e.created_at,
        }

    return {
        "root": str(graph.root),
        "nodes": [
            {"id": str(n.ref), "kind": n.ref.kind.value, "label": n.label, "found": n.found, "attributes": n.attributes}
            for n in graph.nodes.values()
        ],
        "upstream": [edge(e) for e in graph.upstream],
        "downstream": [edge(e) for e in graph.downstream],
    }
