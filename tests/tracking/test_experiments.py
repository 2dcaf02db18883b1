"""Experiments: create, find, list, rename, delete and restore, with MLflow's names."""

from __future__ import annotations

import pytest

from modelyard.domain.tracking import LifecycleStage
from modelyard.errors import AlreadyExists, Conflict, InvalidInput, NotFound
from tracking.conftest import Tracking


def test_create_get_and_get_by_name(tracking: Tracking) -> None:
    experiment_id = tracking.experiments.create("churn", tags={"team": "risk"})
    experiment = tracking.experiments.get(experiment_id)
    assert experiment.name == "churn"
    assert experiment.tags == {"team": "risk"}
    assert experiment.lifecycle_stage is LifecycleStage.ACTIVE
    assert experiment.creation_time == tracking.clock.now_ms()
    assert experiment.artifact_location == f"{tracking.store.root_uri}/{experiment_id}"
    assert tracking.experiments.get_by_name("churn") == experiment
    assert tracking.experiments.get_by_name("nope") is None


def test_an_explicit_artifact_location_is_kept(tracking: Tracking) -> None:
    experiment_id = tracking.experiments.create("elsewhere", artifact_location="memory://bucket/x")
    assert tracking.experiments.get(experiment_id).artifact_location == "memory://bucket/x"


def test_names_are_unique(tracking: Tracking) -> None:
    tracking.experiments.create("churn")
    with pytest.raises(AlreadyExists, match="'churn' already exists"):
        tracking.experiments.create("churn")


@pytest.mark.parametrize("name", ["", "   ", "x" * 257])
def test_bad_names_are_refused(tracking: Tracking, name: str) -> None:
    with pytest.raises(InvalidInput, match="experiment name"):
        tracking.experiments.create(name)


def test_unknown_ids_are_not_found(tracking: Tracking) -> None:
    for bad in ("999", "abc"):
        with pytest.raises(NotFound, match="no experiment"):
            tracking.experiments.get(bad)


def test_list_rename_delete_restore(tracking: Tracking) -> None:
    a = tracking.experiments.create("a")
    b = tracking.experiments.create("b")
    tracking.clock.advance(5)
    tracking.experiments.rename(a, "a2")
    assert tracking.experiments.get(a).name == "a2"
    assert tracking.experiments.get(a).last_update_time == tracking.clock.now_ms()
    tracking.experiments.delete(b)
    assert [e.name for e in tracking.experiments.list()] == ["a2"]
    assert [e.name for e in tracking.experiments.list(only_deleted=True)] == ["b"]
    assert [e.name for e in tracking.experiments.list(include_deleted=True)] == ["a2", "b"]
    tracking.experiments.restore(b)
    assert [e.name for e in tracking.experiments.list()] == ["a2", "b"]


def test_rename_to_a_taken_name_is_already_exists(tracking: Tracking) -> None:
    a = tracking.experiments.create("a")
    tracking.experiments.create("b")
    with pytest.raises(AlreadyExists):
        tracking.experiments.rename(a, "b")
    assert tracking.experiments.get(a).name == "a"


def test_get_or_create_and_deleted_experiments(tracking: Tracking) -> None:
    created = tracking.experiments.get_or_create("auto")
    assert tracking.experiments.get_or_create("auto") == created
    tracking.experiments.delete(created.experiment_id)
    with pytest.raises(Conflict, match="is deleted; restore it"):
        tracking.experiments.get_or_create("auto")
    with pytest.raises(Conflict, match="restore it before starting runs"):
        tracking.runs.create(created.experiment_id, user="tester")


def test_the_default_experiment_cannot_be_deleted(tracking: Tracking) -> None:
    default = tracking.experiments.get_or_create("Default")
    with pytest.raises(Conflict, match="Default"):
        tracking.experiments.delete(default.experiment_id)


def test_resolve_by_name_then_id(tracking: Tracking) -> None:
    first = tracking.experiments.create("first")
    named_like_an_id = tracking.experiments.create(first)  # an experiment whose name is "1" (or so)
    assert tracking.experiments.resolve(first).experiment_id == named_like_an_id
    assert tracking.experiments.resolve("first").experiment_id == first
    with pytest.raises(NotFound):
        tracking.experiments.resolve("missing")


def test_experiment_tags_are_set_and_replaced(tracking: Tracking) -> None:
    experiment_id = tracking.experiments.create("tagged")
    tracking.experiments.set_tag(experiment_id, "owner", "ann")
    tracking.experiments.set_tag(experiment_id, "owner", "bob")
    assert tracking.experiments.get(experiment_id).tags == {"owner": "bob"}
    with pytest.raises(InvalidInput, match="tag key"):
        tracking.experiments.set_tag(experiment_id, "bad\nkey", "x")
