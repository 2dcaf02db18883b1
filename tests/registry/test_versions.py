"""Registered models and versions: numbering, sources, search, descriptions, tags, deletion, lineage."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from modelyard.domain.lineage import NodeKind, NodeRef, Relation
from modelyard.domain.registry import LoggedModel, ModelStage, ModelVersion
from modelyard.errors import AlreadyExists, Conflict, InvalidInput, NotFound
from modelyard.store.repos import lineage as lineage_rows

from .conftest import Registry


def test_versions_count_up_per_name_and_are_never_reused(
    reg: Registry, register: Callable[[str], ModelVersion]
) -> None:
    assert [register("churn").version for _ in range(3)] == [1, 2, 3]
    assert register("fraud").version == 1
    reg.versions.delete("churn", 3)
    assert register("churn").version == 4
    assert [v.version for v in reg.versions.list("churn")] == [4, 2, 1]
    assert reg.models.get("churn").latest_version == 4


def test_version_points_at_the_logged_model_and_records_lineage(
    reg: Registry, log_classifier: Callable[..., LoggedModel]
) -> None:
    logged = log_classifier()
    version = reg.versions.create("churn", logged.uri, create_model=True, description="first", tags={"team": "a"})
    assert (version.run_id, version.model_id, version.digest) == (logged.run_id, logged.model_id, logged.digest)
    assert version.source == logged.uri and version.stage is ModelStage.NONE
    assert version.description == "first" and version.tags == {"team": "a"}
    with reg.db.read() as conn:
        edges = lineage_rows.upstream(conn, [NodeRef(kind=NodeKind.MODEL_VERSION, id="churn/1")])
    assert [(e.source, e.relation) for e in edges] == [
        (NodeRef(kind=NodeKind.LOGGED_MODEL, id=logged.model_id), Relation.REGISTERED)
    ]


def test_create_model_version_needs_the_registered_model(
    reg: Registry, log_classifier: Callable[..., LoggedModel]
) -> None:
    logged = log_classifier()
    with pytest.raises(NotFound, match="no registered model named 'churn'"):
        reg.versions.create("churn", logged.uri)
    reg.models.create("churn", description="d", tags={"k": "v"})
    assert reg.versions.create("churn", logged.uri).version == 1
    with pytest.raises(AlreadyExists):
        reg.models.create("churn")


def test_sources_that_name_no_logged_model_are_refused(reg: Registry, register: Callable[[str], ModelVersion]) -> None:
    run_id = reg.new_run()
    with pytest.raises(NotFound, match="no logged model"):
        reg.versions.create("m", f"runs:/{run_id}/model", create_model=True)
    with pytest.raises(NotFound, match="no run"):
        reg.versions.create("m", f"runs:/{'a' * 32}/model", create_model=True)
    with pytest.raises(InvalidInput, match="cannot register"):
        reg.versions.create("m", "/tmp/some/dir", create_model=True)
    with pytest.raises(InvalidInput, match="not allowed"):
        reg.versions.create("bad name", "models:/x/1", create_model=True)
    assert reg.models.search() == []
    # an existing version is a valid source: the new version shares its logged model
    first = register("a")
    copy = reg.versions.create("b", "models:/a/1", create_model=True)
    assert copy.model_id == first.model_id and copy.version == 1


def test_runs_uri_without_a_path_uses_the_runs_only_model(
    reg: Registry, log_classifier: Callable[..., LoggedModel]
) -> None:
    run_id = reg.new_run()
    logged = log_classifier(run_id)
    assert reg.versions.create("m", f"runs:/{run_id}", create_model=True).model_id == logged.model_id
    log_classifier(run_id, name="second")
    with pytest.raises(InvalidInput, match="several logged models"):
        reg.versions.create("m", f"runs:/{run_id}", create_model=True)


def test_search_models_and_versions_with_filters(reg: Registry, register: Callable[[str], ModelVersion]) -> None:
    for name in ("churn-eu", "churn-us", "fraud"):
        register(name)
    register("churn-eu")
    reg.models.set_tag("churn-us", "team", "growth")
    reg.versions.set_tag("churn-eu", 2, "validated", "yes")

    assert [m.name for m in reg.models.search()] == ["churn-eu", "churn-us", "fraud"]
    assert [m.name for m in reg.models.search("name LIKE 'churn%'")] == ["churn-eu", "churn-us"]
    assert [m.name for m in reg.models.search("name ILIKE 'CHURN-E%'")] == ["churn-eu"]
    assert [m.name for m in reg.models.search("name LIKE 'churn%' AND tags.team = 'growth'")] == ["churn-us"]
    assert [m.name for m in reg.models.search(max_results=1, offset=1)] == ["churn-us"]

    assert [(v.name, v.version) for v in reg.versions.search("name = 'churn-eu'")] == [("churn-eu", 2), ("churn-eu", 1)]
    assert [(v.name, v.version) for v in reg.versions.search("tags.validated = 'yes'")] == [("churn-eu", 2)]
    run_id = reg.versions.get("fraud", 1).run_id
    assert [v.name for v in reg.versions.search(f"run_id = '{run_id}'")] == ["fraud"]
    assert [v.version for v in reg.versions.search("name = 'churn-eu' AND version = 1")] == [1]
    with pytest.raises(InvalidInput, match="cannot read"):
        reg.models.search("name ~ 'x'")
    with pytest.raises(InvalidInput, match="cannot be filtered"):
        reg.models.search("run_id = 'x'")
    with pytest.raises(InvalidInput, match="unknown stage"):
        reg.versions.search("stage = 'live'")


def test_descriptions_and_tags(reg: Registry, register: Callable[[str], ModelVersion]) -> None:
    register("m")
    assert reg.models.update("m", description="churn model").description == "churn model"
    assert reg.versions.update("m", "1", description="v1").description == "v1"
    reg.versions.set_tag("m", 1, "k", 3)
    assert reg.versions.get("m", 1).tags == {"k": "3"}
    reg.versions.delete_tag("m", 1, "k")
    assert reg.versions.get("m", 1).tags == {}
    with pytest.raises(NotFound, match="no tag"):
        reg.versions.delete_tag("m", 1, "k")
    with pytest.raises(NotFound, match="has no version 9"):
        reg.versions.set_tag("m", 9, "k", "v")
    with pytest.raises(InvalidInput, match="not a model version"):
        reg.versions.get("m", "one")
    with pytest.raises(InvalidInput, match="tag key"):
        reg.models.set_tag("m", "", "v")


def test_deleting_a_model_removes_everything_but_not_while_in_production(
    reg: Registry, register: Callable[[str], ModelVersion]
) -> None:
    register("m")
    register("m")
    reg.aliases.set("m", "champion", 2)
    reg.stages.transition("m", 2, "production")
    with pytest.raises(Conflict, match="Production"):
        reg.versions.delete("m", 2)
    with pytest.raises(Conflict, match="Production"):
        reg.models.delete("m")
    reg.stages.transition("m", 2, "archived")
    reg.models.delete("m")
    with pytest.raises(NotFound):
        reg.models.get("m")
    assert reg.versions.search("name = 'm'") == []
    assert register("m").version == 1  # a new model of the same name starts again
