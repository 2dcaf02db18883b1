"""Lineage walks: upstream and downstream from any node, bounded, cycle-safe, on both engines."""

from __future__ import annotations

import itertools
import uuid

import pandas as pd
import pytest

from modelyard.config import Settings
from modelyard.domain.lineage import LineageNode, NodeKind, NodeRef, Relation
from modelyard.domain.serving import VariantSpec
from modelyard.errors import InvalidInput, NotFound
from modelyard.governance import LineageService, openlineage_run_events
from modelyard.sdk.backends.local import LocalBackend
from modelyard.store.repos import lineage as lineage_rows


@pytest.fixture
def backend(settings: Settings) -> LocalBackend:
    opened = LocalBackend.open(settings)
    yield opened
    opened.db.dispose()


def _run(backend: LocalBackend, name: str, parent: str | None = None) -> str:
    experiment_id = backend.experiments.get_or_create("lineage").experiment_id
    run = backend.runs.create(experiment_id, user="tester", run_name=name, parent_run_id=parent)
    return run.info.run_id


def _edge(backend: LocalBackend, source: NodeRef, target: NodeRef, relation: Relation, **props: str) -> None:
    with backend.db.begin() as conn:
        lineage_rows.add(conn, source, target, relation, now_ms=1_700_000_000_000, properties=props)


def _ref(kind: NodeKind, id_: str) -> NodeRef:
    return NodeRef(kind=kind, id=id_)


def test_parent_run_edge_is_recorded_when_a_child_starts(backend: LocalBackend) -> None:
    parent = _run(backend, "parent")
    child = _run(backend, "child", parent=parent)

    graph = backend.lineage.graph(_ref(NodeKind.RUN, child))

    assert [(e.source.id, e.relation) for e in graph.upstream] == [(parent, Relation.PARENT)]
    assert graph.nodes[_ref(NodeKind.RUN, parent)].label == "parent"
    assert graph.downstream == ()


def test_walks_the_whole_chain_both_ways_from_the_middle(backend: LocalBackend) -> None:
    run_id = _run(backend, "train")
    data = _ref(NodeKind.DATASET_VERSION, "churn@" + "ab" * 32)
    model = _ref(NodeKind.LOGGED_MODEL, "m-1")
    version = _ref(NodeKind.MODEL_VERSION, "churn/1")
    deployment = _ref(NodeKind.DEPLOYMENT, "prod")
    _edge(backend, data, _ref(NodeKind.RUN, run_id), Relation.INPUT, role="train")
    _edge(backend, _ref(NodeKind.RUN, run_id), model, Relation.PRODUCED)
    _edge(backend, model, version, Relation.REGISTERED)
    _edge(backend, version, deployment, Relation.DEPLOYED)

    graph = LineageService(backend.db).graph(model)  # knows runs only: the other nodes stay bare ids

    assert {str(e.source) for e in graph.upstream} == {str(data), f"run:{run_id}"}
    assert [str(e.target) for e in graph.downstream] == [str(version), str(deployment)]
    input_edge = next(e for e in graph.upstream if e.relation is Relation.INPUT)
    assert input_edge.properties == {"role": "train"}


def test_depth_bounds_the_walk(backend: LocalBackend) -> None:
    chain = [_run(backend, f"r{i}") for i in range(4)]
    for upstream, downstream in itertools.pairwise(chain):
        _edge(backend, _ref(NodeKind.RUN, upstream), _ref(NodeKind.RUN, downstream), Relation.PARENT)

    assert len(backend.lineage.graph(_ref(NodeKind.RUN, chain[0]), max_depth=2).downstream) == 2
    assert len(backend.lineage.graph(_ref(NodeKind.RUN, chain[0])).downstream) == 3
    with pytest.raises(InvalidInput, match="max_depth"):
        backend.lineage.graph(_ref(NodeKind.RUN, chain[0]), max_depth=0)


def test_a_cycle_ends_the_walk_instead_of_looping(backend: LocalBackend) -> None:
    a, b = _run(backend, "a"), _run(backend, "b")
    _edge(backend, _ref(NodeKind.RUN, a), _ref(NodeKind.RUN, b), Relation.PARENT)
    _edge(backend, _ref(NodeKind.RUN, b), _ref(NodeKind.RUN, a), Relation.PARENT)

    graph = backend.lineage.graph(_ref(NodeKind.RUN, a))

    assert len(graph.downstream) == 2  # a->b, then b->a once; a is not walked again
    assert len(graph.upstream) == 2


def test_recording_an_edge_twice_keeps_one(backend: LocalBackend) -> None:
    run_id = _run(backend, "r")
    model = _ref(NodeKind.LOGGED_MODEL, "m")
    _edge(backend, _ref(NodeKind.RUN, run_id), model, Relation.PRODUCED)
    _edge(backend, _ref(NodeKind.RUN, run_id), model, Relation.PRODUCED)

    assert len(LineageService(backend.db).graph(model).upstream) == 1


def test_unknown_root_and_unreadable_uri_are_clear_errors(backend: LocalBackend) -> None:
    with pytest.raises(NotFound, match="no run"):
        backend.lineage.graph(_ref(NodeKind.RUN, uuid.uuid4().hex))
    with pytest.raises(InvalidInput, match="cannot tell what"):
        backend.lineage.resolve("s3://bucket/thing")
    with pytest.raises(InvalidInput, match="not a run URI"):
        backend.lineage.resolve("runs:/not-hex")


def test_resolves_run_uris_and_printed_node_names(backend: LocalBackend) -> None:
    run_id = _run(backend, "r")
    assert backend.lineage.resolve(f"runs:/{run_id}") == _ref(NodeKind.RUN, run_id)
    assert backend.lineage.resolve(f"runs:/{run_id}/model") == _ref(NodeKind.RUN, run_id)
    assert backend.lineage.resolve("model_version:churn/3") == _ref(NodeKind.MODEL_VERSION, "churn/3")


def test_registered_kinds_are_described_and_missing_ones_flagged(backend: LocalBackend) -> None:
    service = LineageService(backend.db)
    known = {"churn/1": {"status": "production"}}

    def describe(conn: object, node_id: str) -> LineageNode | None:
        attrs = known.get(node_id)
        return (
            None
            if attrs is None
            else LineageNode(ref=_ref(NodeKind.MODEL_VERSION, node_id), label=node_id, attributes=attrs)
        )

    service.register_kind(NodeKind.MODEL_VERSION, describe)
    run_id = _run(backend, "r")
    _edge(backend, _ref(NodeKind.RUN, run_id), _ref(NodeKind.MODEL_VERSION, "churn/1"), Relation.PRODUCED)
    _edge(backend, _ref(NodeKind.RUN, run_id), _ref(NodeKind.MODEL_VERSION, "gone/9"), Relation.PRODUCED)

    nodes = service.graph(_ref(NodeKind.RUN, run_id)).nodes

    assert nodes[_ref(NodeKind.MODEL_VERSION, "churn/1")].attributes == {"status": "production"}
    assert nodes[_ref(NodeKind.MODEL_VERSION, "gone/9")].found is False
    with pytest.raises(NotFound):
        service.graph(_ref(NodeKind.MODEL_VERSION, "gone/9"))


def test_openlineage_events_follow_the_run_event_shape(backend: LocalBackend) -> None:
    parent = _run(backend, "parent")
    child = _run(backend, "child", parent=parent)
    backend.runs.end(child, "FAILED")
    digest = "cd" * 32
    _edge(
        backend,
        _ref(NodeKind.DATASET_VERSION, f"churn@{digest}"),
        _ref(NodeKind.RUN, child),
        Relation.INPUT,
        role="train",
    )
    _edge(backend, _ref(NodeKind.RUN, child), _ref(NodeKind.LOGGED_MODEL, "m-1"), Relation.PRODUCED)

    events = openlineage_run_events(LineageService(backend.db).graph(_ref(NodeKind.RUN, child)))

    child_events = [e for e in events if e["run"]["runId"] == str(uuid.UUID(hex=child))]
    assert [e["eventType"] for e in child_events] == ["START", "FAIL"]
    parent_events = [e for e in events if e["run"]["runId"] == str(uuid.UUID(hex=parent))]
    assert [e["eventType"] for e in parent_events] == ["START"]  # still RUNNING: no terminal event yet
    event = child_events[1]
    for key in ("eventTime", "producer", "schemaURL", "run", "job", "inputs", "outputs"):
        assert key in event
    assert event["eventTime"].endswith("Z")
    assert event["job"] == {"namespace": "modelyard", "name": "lineage/child", "facets": {}}
    assert event["run"]["facets"]["parent"]["run"]["runId"] == str(uuid.UUID(hex=parent))
    (dataset,) = event["inputs"]
    assert dataset["name"] == "churn"
    assert dataset["facets"]["modelyard"]["role"] == "train"
    assert dataset["facets"]["version"]["datasetVersion"] == digest
    assert [o["name"] for o in event["outputs"]] == ["logged_model/m-1"]


def test_the_chain_of_a_registered_model_from_its_dataset_to_its_alias(backend: LocalBackend) -> None:
    """What `modelyard lineage models:/churn@champion` shows: data digest, run, logged model, version."""
    from sklearn.linear_model import LogisticRegression

    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "y": [0, 0, 0, 1, 1, 1]})
    run_id = _run(backend, "train")
    data = backend.datasets.log(frame, "churn", role="train", run_id=run_id, user="tester")
    model = LogisticRegression().fit(frame[["x"]], frame["y"])
    logged = backend.logged_models.log(run_id, model, "model", input_example=frame[["x"]].head(2))
    version = backend.model_versions.create("churn", f"runs:/{run_id}/model", create_model=True)
    backend.aliases.set("churn", "champion", version.version)

    root = backend.lineage.resolve("models:/churn@champion")
    graph = backend.lineage.graph(root)

    assert root == _ref(NodeKind.MODEL_VERSION, f"churn/{version.version}")
    assert graph.nodes[root].attributes["aliases"] == ["champion"]
    chain = [(e.relation, e.source.kind) for e in graph.upstream]
    assert chain == [
        (Relation.REGISTERED, NodeKind.LOGGED_MODEL),
        (Relation.PRODUCED, NodeKind.RUN),
        (Relation.INPUT, NodeKind.DATASET_VERSION),
    ]
    dataset_node = graph.nodes[_ref(NodeKind.DATASET_VERSION, f"churn@{data.digest}")]
    assert dataset_node.attributes["digest"] == data.digest
    assert dataset_node.attributes["rows"] == 6
    assert graph.nodes[_ref(NodeKind.LOGGED_MODEL, logged.model_id)].attributes["flavor"] == "sklearn"
    assert backend.lineage.resolve(f"datasets:/churn@{data.digest[:8]}") == dataset_node.ref
    downstream = backend.lineage.graph(dataset_node.ref).downstream
    assert [e.target for e in downstream][-1] == root

    backend.deployments.deploy("churn-prod", [VariantSpec(uri="models:/churn@champion")])
    deployed = backend.lineage.graph(root)
    deployment = deployed.nodes[_ref(NodeKind.DEPLOYMENT, "churn-prod")]
    assert [(e.relation, e.target) for e in deployed.downstream] == [(Relation.DEPLOYED, deployment.ref)]
    assert deployment.found
    assert f"churn/{version.version}" in deployment.attributes["traffic"]
