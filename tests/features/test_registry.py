"""Applying definitions: plans (added, changed, removed), versions, consistency checks, history."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from modelyard.domain.features import ChangeKind, DefinitionKind, FeatureView
from modelyard.errors import InvalidInput, UserCodeError
from modelyard.features import Entity, FeatureStore
from tests.features.conftest import card_world


def _changes(plan) -> dict[str, set[str]]:  # type: ignore[no-untyped-def]
    return {k.value: {c.name for c in plan.of(k)} for k in ChangeKind}


def test_apply_adds_then_changes_then_removes_with_versions(store: FeatureStore, tmp_path: Path) -> None:
    world = card_world(tmp_path)
    first = store.apply(world)
    assert _changes(first)["added"] == {"card", "card_profile", "card_activity", "tx_ratio"}
    assert store.apply(world).is_empty  # applying the same definitions again writes nothing

    profile = world[1]
    assert isinstance(profile, FeatureView)
    longer = replace(profile, ttl=timedelta(days=2))
    plan = store.plan([world[0], longer, world[2]])
    assert _changes(plan)["changed"] == {"card_profile"}
    assert _changes(plan)["removed"] == {"tx_ratio"}
    changed = next(c for c in plan.changes if c.name == "card_profile")
    assert changed.fields == ("ttl_s",)
    assert store.get("card_profile").version == 1  # plan changed nothing

    store.apply([world[0], longer, world[2]])
    assert store.get("card_profile").version == 2
    assert store.get("card_profile").definition == longer
    assert [d.name for d in store.list(DefinitionKind.ON_DEMAND_VIEW)] == []
    history = store.registry.history("tx_ratio", DefinitionKind.ON_DEMAND_VIEW)
    assert [(h.version, h.removed) for h in history] == [(1, False), (2, True)]


def test_without_prune_apply_only_adds_and_changes(store: FeatureStore, tmp_path: Path) -> None:
    world = card_world(tmp_path)
    store.apply(world)
    plan = store.apply([Entity(name="customer", join_keys=("customer_id",))], prune=False)
    assert _changes(plan)["added"] == {"customer"} and not plan.of(ChangeKind.REMOVED)
    assert len(store.list()) == 5


def test_definitions_that_do_not_fit_together_are_refused(store: FeatureStore, tmp_path: Path) -> None:
    world = card_world(tmp_path)
    with pytest.raises(InvalidInput, match="names entity 'card', which is not defined"):
        store.apply(world[1:])
    store.apply(world)
    with pytest.raises(InvalidInput, match="names entity 'card'"):
        store.apply([world[1]])  # removing the entity a remaining view needs
    with pytest.raises(InvalidInput, match="invalid entity name"):
        Entity(name="9lives", join_keys=("id",))


def test_a_module_path_is_collected_and_applied(store: FeatureStore, tmp_path: Path) -> None:
    module = tmp_path / "repo_defs.py"
    module.write_text(
        "from datetime import timedelta\n"
        "from modelyard.features import Entity, FeatureView, Field, FileSource\n"
        "user = Entity(name='user', join_keys=('user_id',))\n"
        "stats = FeatureView(name='user_stats', entity='user', source=FileSource(path='u.parquet'),\n"
        "                    features=(Field(name='clicks', dtype='int64'),), ttl=timedelta(days=7))\n"
    )
    plan = store.apply(str(module))
    assert _changes(plan)["added"] == {"user", "user_stats"}
    bad = tmp_path / "broken.py"
    bad.write_text("raise RuntimeError('boom')\n")
    with pytest.raises(UserCodeError, match="boom"):
        store.apply(str(bad))


def test_the_registry_works_on_each_engine(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from modelyard.data import DatasetService
    from modelyard.features import SqliteOnlineStore
    from modelyard.sdk.backends.local import LocalBackend

    backend = LocalBackend.open(settings)
    store = FeatureStore(
        backend.db,
        DatasetService(backend.db, backend.artifact_store),
        SqliteOnlineStore(tmp_path / "online.db"),
        push_root=str(tmp_path / "push"),
        actor="tester",
    )
    try:
        world = card_world(tmp_path)
        store.apply(world)
        store.apply(world[:3])
        assert [(d.name, d.version) for d in store.list(DefinitionKind.FEATURE_VIEW)] == [
            ("card_activity", 1),
            ("card_profile", 1),
        ]
        assert store.registry.history("tx_ratio", DefinitionKind.ON_DEMAND_VIEW)[-1].removed
        store.registry.set_watermark("card_profile", 10)
        store.registry.set_watermark("card_profile", 20)
        assert store.registry.watermark("card_profile") == 20
    finally:
        store.close()
        backend.db.dispose()
