"""``modelyard lineage URI``: where a run, model version or dataset version came from, and what was
made from it, as a tree, JSON or OpenLineage run events."""

from __future__ import annotations

import enum
from typing import Annotated, Any

import typer
from rich.tree import Tree

from modelyard.cli._backend import backend
from modelyard.cli._output import console, fmt_time, print_json
from modelyard.domain.lineage import LineageEdge, LineageGraph, LineageNode, NodeKind, NodeRef
from modelyard.governance import openlineage_run_events
from modelyard.governance.lineage import DEFAULT_MAX_DEPTH


class Format(enum.StrEnum):
    TREE = "tree"
    JSON = "json"
    OPENLINEAGE = "openlineage"


_ICON = {
    NodeKind.DATASET_VERSION: "[green]dataset[/]",
    NodeKind.RUN: "[cyan]run[/]",
    NodeKind.LOGGED_MODEL: "[magenta]logged model[/]",
    NodeKind.MODEL_VERSION: "[bold magenta]model version[/]",
    NodeKind.DEPLOYMENT: "[yellow]deployment[/]",
    NodeKind.FEATURE_VIEW: "[blue]feature view[/]",
    NodeKind.FEATURE_SOURCE: "[blue]feature source[/]",
}


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


def lineage_tree(graph: LineageGraph) -> Tree:
    """The graph as a rich tree: the root, then what it came from and what was made from it."""
    root = Tree(_label(graph.nodes[graph.root]), guide_style="dim")
    up = root.add("[bold]upstream[/] (what it came from)")
    _grow(up, graph, graph.root, upstream=True, shown={graph.root})
    if not up.children:
        up.add("[dim]nothing recorded[/]")
    down = root.add("[bold]downstream[/] (what was made from it)")
    _grow(down, graph, graph.root, upstream=False, shown={graph.root})
    if not down.children:
        down.add("[dim]nothing recorded[/]")
    return root


def _grow(branch: Tree, graph: LineageGraph, ref: NodeRef, *, upstream: bool, shown: set[NodeRef]) -> None:
    """Add ``ref``'s neighbours below ``branch``, breadth first so each node is expanded once, at its
    shallowest place; a node met again (the pipeline run every step run belongs to, a dataset two
    steps read) is one dim line, not its whole subtree again."""
    edges = graph.parents(ref) if upstream else graph.children(ref)
    fresh: list[tuple[Tree, NodeRef]] = []
    for edge in edges:
        other = edge.source if upstream else edge.target
        if other in shown:
            branch.add(
                f"{_relation(edge)} [dim]{_ICON[other.kind]} {graph.nodes[other].label} (shown in full elsewhere)[/]"
            )
            continue
        shown.add(other)
        fresh.append((branch.add(f"{_relation(edge)} {_label(graph.nodes[other])}"), other))
    for child, other in fresh:
        _grow(child, graph, other, upstream=upstream, shown=shown)


def _relation(edge: LineageEdge) -> str:
    role = edge.properties.get("role")
    return f"[dim]{edge.relation.value}{f' as {role}' if role else ''}:[/]"


def _label(node: LineageNode) -> str:
    if not node.found:
        return f"{_ICON[node.ref.kind]} {node.ref.id} [red](not found)[/]"
    parts = [f"{_ICON[node.ref.kind]} [bold]{node.label}[/]"]
    details = {
        k: v
        for k, v in node.attributes.items()
        if k in _SHOWN.get(node.ref.kind, ()) and v not in (None, "", [], "None")  # stage "None": no stage
    }
    parts += [f"{k}={_fmt(k, v)}" for k, v in details.items()]
    return "  ".join(parts)


_SHOWN: dict[NodeKind, tuple[str, ...]] = {
    NodeKind.RUN: ("run_id", "experiment", "status", "git_commit", "git_dirty", "start_time"),
    NodeKind.DATASET_VERSION: ("digest", "rows", "source"),
    NodeKind.LOGGED_MODEL: ("flavor", "artifact_path", "digest"),
    NodeKind.MODEL_VERSION: ("stage", "aliases", "digest"),
    NodeKind.DEPLOYMENT: ("status", "traffic"),
    NodeKind.FEATURE_VIEW: ("entity", "features", "ttl_s"),
}


def _fmt(key: str, value: Any) -> str:
    if key.endswith("_time"):
        return fmt_time(value)
    if key == "digest":
        return str(value).removeprefix("sha256:")[:12]
    if key == "git_commit":
        return str(value)[:10]
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


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
