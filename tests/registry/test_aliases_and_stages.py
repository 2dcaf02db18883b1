"""Aliases move atomically between versions; stage transitions keep one version in Production."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from modelyard.domain.registry import ModelStage, ModelVersion, StagePolicy
from modelyard.errors import Conflict, InvalidInput, NotFound
from modelyard.registry import StageService

from .conftest import Registry


def test_an_alias_moves_from_one_version_to_another(reg: Registry, register: Callable[[str], ModelVersion]) -> None:
    register("m")
    register("m")
    assert reg.aliases.set("m", "champion", 1).aliases == ("champion",)
    reg.aliases.set("m", "challenger", 2)
    reg.aliases.set("m", "champion", 2)
    assert reg.aliases.get_version("m", "champion").version == 2
    assert reg.versions.get("m", 1).aliases == ()
    assert reg.versions.get("m", 2).aliases == ("challenger", "champion")
    assert reg.models.get("m").aliases == {"challenger": 2, "champion": 2}
    reg.aliases.delete("m", "challenger")
    assert reg.models.get("m").aliases == {"champion": 2}
    with pytest.raises(NotFound, match="no alias 'challenger'"):
        reg.aliases.get_version("m", "challenger")
    with pytest.raises(NotFound, match="no alias"):
        reg.aliases.delete("m", "challenger")


def test_alias_rules(reg: Registry, register: Callable[[str], ModelVersion]) -> None:
    register("m")
    with pytest.raises(InvalidInput, match="all digits"):
        reg.aliases.set("m", "2", 1)
    with pytest.raises(InvalidInput, match="not allowed"):
        reg.aliases.set("m", "with space", 1)
    with pytest.raises(NotFound, match="has no version 5"):
        reg.aliases.set("m", "champion", 5)
    with pytest.raises(NotFound, match="no registered model"):
        reg.aliases.set("nope", "champion", 1)


def test_deleting_a_version_drops_its_aliases(reg: Registry, register: Callable[[str], ModelVersion]) -> None:
    register("m")
    register("m")
    reg.aliases.set("m", "champion", 1)
    reg.versions.delete("m", 1)
    assert reg.models.get("m").aliases == {}


def test_only_one_version_in_production_unless_archived(reg: Registry, register: Callable[[str], ModelVersion]) -> None:
    for _ in range(3):
        register("m")
    assert reg.stages.transition("m", 1, "Production").stage is ModelStage.PRODUCTION
    with pytest.raises(Conflict, match="version 1 of 'm' is already in Production"):
        reg.stages.transition("m", 2, ModelStage.PRODUCTION)
    assert reg.versions.get("m", 2).stage is ModelStage.NONE
    reg.stages.transition("m", 2, "production", archive_existing_versions=True)
    assert [(v.version, v.stage) for v in reg.versions.list("m")] == [
        (3, ModelStage.NONE),
        (2, ModelStage.PRODUCTION),
        (1, ModelStage.ARCHIVED),
    ]
    # moving the Production version to Production again is a no-op, not a conflict with itself
    assert reg.stages.transition("m", 2, "production").stage is ModelStage.PRODUCTION


def test_archive_existing_applies_to_staging_too(reg: Registry, register: Callable[[str], ModelVersion]) -> None:
    register("m")
    register("m")
    reg.stages.transition("m", 1, "staging")
    reg.stages.transition("m", 2, "staging")  # several versions may be in Staging
    assert {v.stage for v in reg.versions.list("m")} == {ModelStage.STAGING}
    reg.stages.transition("m", 2, "staging", archive_existing_versions=True)
    assert reg.versions.get("m", 1).stage is ModelStage.ARCHIVED
    with pytest.raises(InvalidInput, match="only applies"):
        reg.stages.transition("m", 1, "none", archive_existing_versions=True)
    with pytest.raises(InvalidInput, match="unknown stage 'live'"):
        reg.stages.transition("m", 1, "live")


def test_a_policy_can_allow_several_production_versions(reg: Registry, register: Callable[[str], ModelVersion]) -> None:
    register("m")
    register("m")
    stages = StageService(reg.db, policy=StagePolicy(exclusive_production=False))
    stages.transition("m", 1, "production")
    stages.transition("m", 2, "production")
    assert {v.stage for v in reg.versions.list("m")} == {ModelStage.PRODUCTION}
