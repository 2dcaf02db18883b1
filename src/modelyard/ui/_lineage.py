"""A lineage graph drawn for a page: a Sankey chart (dataset -> run -> model -> version ->
deployment) and the same edges as a list, which is what a page shows with JavaScript off."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from modelyard.domain.lineage import LineageGraph, NodeKind, NodeRef
from modelyard.ui._charts import fragment

_COLOURS = {
    NodeKind.DATASET_VERSION: "#1f77b4",
    NodeKind.RUN: "#ff7f0e",
    NodeKind.LOGGED_MODEL: "#2ca02c",
    NodeKind.MODEL_VERSION: "#9467bd",
    NodeKind.DEPLOYMENT: "#d62728",
}


def node_href(ref: NodeRef, attributes: dict[str, Any]) -> str | None:
    """Where a node's own page is, when it has one."""
    if ref.kind is NodeKind.RUN:
        return f"/runs/{ref.id}"
    if ref.kind is NodeKind.DEPLOYMENT:
        return f"/deployments/{ref.id}"
    if ref.kind is NodeKind.MODEL_VERSION and "/" in ref.id:
        name, _, version = ref.id.rpartition("/")
        return f"/models/{name}/versions/{version}"
    if ref.kind is NodeKind.DATASET_VERSION and "@" in ref.id:
        return f"/datasets/{ref.id.split('@')[0]}"
    return None


def _label(graph: LineageGraph, ref: NodeRef) -> str:
    node = graph.nodes[ref]
    digest = node.attributes.get("digest")
    if ref.kind is NodeKind.DATASET_VERSION and isinstance(digest, str):
        return f"{node.label}@{digest[:8]}"
    return node.label


def lineage_view(graph: LineageGraph) -> dict[str, Any]:
    """``edges`` (label, relation, label, hrefs) and ``sankey`` (an HTML fragment, or "")."""
    edges = [*graph.upstream, *graph.downstream]
    order = list(graph.nodes)
    index = {ref: i for i, ref in enumerate(order)}
    rows = []
    for edge in edges:
        source, target = graph.nodes.get(edge.source), graph.nodes.get(edge.target)
        if source is None or target is None:
            continue
        rows.append(
            {
                "source": _label(graph, source.ref),
                "source_kind": source.ref.kind.value,
                "source_href": node_href(source.ref, source.attributes),
                "relation": edge.relation.value,
                "target": _label(graph, target.ref),
                "target_kind": target.ref.kind.value,
                "target_href": node_href(target.ref, target.attributes),
            }
        )
    sankey = ""
    if rows:
        links = [(index[e.source], index[e.target]) for e in edges if e.source in index and e.target in index]
        fig = go.Figure(
            go.Sankey(
                node={
                    "label": [_label(graph, r) for r in order],
                    "color": [_COLOURS.get(r.kind, "#7f7f7f") for r in order],
                    "pad": 18,
                },
                link={"source": [s for s, _ in links], "target": [t for _, t in links], "value": [1] * len(links)},
            )
        )
        sankey = fragment(fig, title="lineage")
    return {"edges": rows, "sankey": sankey}
