"""The lineage tree: each node's subtree once, and a version's stage only when it has one."""

from __future__ import annotations

from rich.console import Console

from modelyard.domain.lineage import LineageEdge, LineageGraph, LineageNode, NodeKind, NodeRef, Relation
from modelyard.sdk.lineage import lineage_tree


def _run(name: str) -> NodeRef:
    return NodeRef(kind=NodeKind.RUN, id=name)


def _render(graph: LineageGraph) -> str:
    console = Console(width=200, record=True, color_system=None)
    console.print(lineage_tree(graph))
    return console.export_text()


def test_a_node_reached_twice_is_expanded_once_and_stage_none_is_not_shown() -> None:
    version = NodeRef(kind=NodeKind.MODEL_VERSION, id="churn/1")
    data = NodeRef(kind=NodeKind.DATASET_VERSION, id="d1")
    pipeline, validate, fit = _run("pipeline"), _run("validate_data"), _run("fit")

    def edge(source: NodeRef, target: NodeRef, relation: Relation) -> LineageEdge:
        return LineageEdge(source=source, target=target, relation=relation, created_at=0)

    upstream = (
        edge(fit, version, Relation.PRODUCED),
        edge(validate, fit, Relation.INPUT),
        edge(pipeline, fit, Relation.PARENT),
        edge(data, validate, Relation.INPUT),
        edge(pipeline, validate, Relation.PARENT),
        edge(data, fit, Relation.INPUT),
    )
    nodes = {
        ref: LineageNode(ref=ref, label=ref.id, attributes={"stage": "None"} if ref == version else {})
        for ref in (version, data, pipeline, validate, fit)
    }
    text = _render(LineageGraph(root=version, nodes=nodes, upstream=upstream, downstream=()))
    assert "stage=" not in text and "None" not in text
    expanded = [line for line in text.splitlines() if "validate_data" in line and "shown in full elsewhere" not in line]
    assert len(expanded) == 1  # the validate_data subtree appears once
    assert (
        text.count("pipeline") == 2 and text.count("(shown in full elsewhere)") == 2
    )  # once in full, once pointing back
    staged = LineageNode(ref=version, label="churn/1", attributes={"stage": "Production"})
    text = _render(LineageGraph(root=version, nodes={**nodes, version: staged}, upstream=(), downstream=()))
    assert "stage=Production" in text
