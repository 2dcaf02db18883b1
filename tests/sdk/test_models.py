"""The fluent model API and ``Client.registry`` on each engine: log, register, alias, stage, load."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.tree import DecisionTreeClassifier

import modelyard as my
from modelyard.config import Settings
from modelyard.domain.registry import ModelStage
from modelyard.errors import Conflict, InvalidInput, NotFound


@pytest.fixture
def fluent(settings: Settings) -> Iterator[Settings]:
    my.configure(
        home=settings.home,
        store_uri=settings.store_uri,
        artifact_uri=settings.artifact_uri,
        user="tester",
        capture_environment=False,
    )
    yield my.client().settings
    my.end_run()


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series]:
    features, target = load_iris(return_X_y=True, as_frame=True)
    return features, target


def _fit(data: tuple[pd.DataFrame, pd.Series], depth: int) -> DecisionTreeClassifier:
    return DecisionTreeClassifier(max_depth=depth, random_state=0).fit(*data)


def test_log_register_alias_and_load_like_mlflow(fluent: Settings, data: tuple[pd.DataFrame, pd.Series]) -> None:
    features, _ = data
    shallow, deep = _fit(data, 1), _fit(data, 5)
    with my.start_run(experiment="sdk-models") as run:
        logged = my.log_model(shallow, "model", input_example=features.head(), registered_model_name="iris")
    assert logged.uri == f"runs:/{run.info.run_id}/model"
    with my.start_run(experiment="sdk-models") as second:
        my.log_model(deep, "tree", input_example=features.head())
    version = my.register_model(f"runs:/{second.info.run_id}/tree", "iris", description="deeper")
    assert version.version == 2 and version.description == "deeper"

    registry = my.client().registry
    registry.set_registered_model_alias("iris", "champion", 2)
    registry.set_registered_model_alias("iris", "challenger", 1)
    assert registry.get_model_version_by_alias("iris", "champion").version == 2
    registry.transition_model_version_stage("iris", 2, "Production")
    registry.set_model_version_tag("iris", 2, "validated", "true")
    registry.update_model_version("iris", 1, description="baseline")

    champion = my.load_model("models:/iris@champion")
    np.testing.assert_array_equal(champion.predict(features), deep.predict(features))
    np.testing.assert_allclose(champion.predict_proba(features), deep.predict_proba(features))
    np.testing.assert_array_equal(my.load_model("models:/iris/1").predict(features), shallow.predict(features))
    np.testing.assert_array_equal(my.load_model(logged.uri).predict(features), shallow.predict(features))

    model = registry.get_registered_model("iris")
    assert (model.latest_version, model.aliases) == (2, {"challenger": 1, "champion": 2})
    found = registry.search_model_versions("name = 'iris' AND stage = 'Production'")
    assert [(v.version, v.tags, v.current_stage) for v in found] == [(2, {"validated": "true"}, "Production")]
    assert registry.get_model_version("iris", 1).description == "baseline"
    assert [m.name for m in registry.search_registered_models("name LIKE 'ir%'")] == ["iris"]


def test_log_model_starts_a_run_when_none_is_active(fluent: Settings, data: tuple[pd.DataFrame, pd.Series]) -> None:
    logged = my.log_model(_fit(data, 2))
    current = my.active_run()
    assert current is not None and logged.run_id == current.info.run_id
    assert logged.signature is None  # no example, no signature: the predictor passes inputs through


def test_registry_errors_reach_the_caller_as_modelyard_errors(
    fluent: Settings, data: tuple[pd.DataFrame, pd.Series]
) -> None:
    registry = my.client().registry
    registry.create_registered_model("empty", tags={"team": "a"}, description="nothing yet")
    with pytest.raises(NotFound):
        registry.get_model_version("empty", 1)
    with pytest.raises(NotFound):
        my.load_model("models:/empty@champion")
    with my.start_run():
        logged = my.log_model(_fit(data, 1), registered_model_name="m")
    registry.create_model_version("empty", logged.uri)
    registry.transition_model_version_stage("m", 1, ModelStage.PRODUCTION)
    registry.transition_model_version_stage("empty", 1, "staging")
    with pytest.raises(Conflict):
        registry.delete_registered_model("m")
    with pytest.raises(InvalidInput):
        registry.set_registered_model_alias("m", "1", 1)
    with pytest.raises(NotFound):
        registry.delete_registered_model_alias("m", "nope")
    registry.transition_model_version_stage("m", 1, "archived")
    registry.delete_model_version("m", 1)
    registry.delete_registered_model("m")
    assert [m.name for m in registry.search_registered_models()] == ["empty"]
