"""``mlflow.sklearn.log_model``, registration, aliases, stages and loading back, all through the
real mlflow client, landing in modelyard's registry and lineage."""

from __future__ import annotations

import mlflow
import mlflow.sklearn
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from sklearn.linear_model import LogisticRegression

from .conftest import RunningServer


def _data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    return x, (x["a"] + x["b"] > 0).astype(int).to_numpy()


def test_log_model_register_alias_and_load_back(mlflow_server: RunningServer) -> None:
    x, y = _data()
    model = LogisticRegression().fit(x, y)
    mlflow.set_experiment("models")
    with mlflow.start_run() as run:
        mlflow.log_param("C", 1.0)
        mlflow.log_metric("acc", 0.9)
        info = mlflow.sklearn.log_model(model, name="model", input_example=x.head(3))
    run_id = run.info.run_id
    expected = model.predict(x)

    by_run = mlflow.sklearn.load_model(f"runs:/{run_id}/model")
    assert (by_run.predict(x) == expected).all()
    by_id = mlflow.pyfunc.load_model(f"models:/{info.model_id}")
    assert (by_id.predict(x) == expected).all()

    version = mlflow.register_model(f"models:/{info.model_id}", "churn")
    assert version.version == "1" and version.run_id == run_id
    client = MlflowClient()
    client.set_registered_model_alias("churn", "champion", version.version)
    assert client.get_model_version_by_alias("churn", "champion").version == "1"
    loaded = mlflow.sklearn.load_model("models:/churn@champion")
    assert (loaded.predict(x) == expected).all()
    assert (mlflow.pyfunc.load_model("models:/churn/1").predict(x) == expected).all()

    # modelyard sees an ordinary logged model and version, with lineage from the run, and loads it
    # with its own scikit-learn flavor and the signature MLflow inferred (issue 15.3)
    backend = mlflow_server.backend
    predictor = backend.model_resolver.load("models:/churn@champion")
    assert predictor.flavor == "sklearn" and (predictor.predict(x) == expected).all()
    assert predictor.signature is not None and predictor.signature.input_names == ("a", "b")
    assert predictor.predict_proba(x).shape == (len(x), 2)
    logged = backend.logged_models.get(info.model_id)
    assert logged.run_id == run_id and logged.artifact_path == "model" and logged.flavor == "mlflow.sklearn"
    mine = backend.aliases.get_version("churn", "champion")
    assert mine.model_id == info.model_id and mine.source == f"runs:/{run_id}/model"
    graph = backend.lineage.graph(backend.lineage.resolve(mine.uri))
    upstream = {(e.source.kind.value, e.source.id) for e in graph.upstream}
    assert ("logged_model", info.model_id) in upstream and ("run", run_id) in upstream
    assert [e.action for e in backend.audit.search(object_kind="model_version")] == ["model_version.created"]
    assert "run.created" in {e.action for e in backend.audit.search(object_id=run_id)}


def test_registered_models_versions_tags_stages_and_search(mlflow_server: RunningServer) -> None:
    x, y = _data()
    model = LogisticRegression().fit(x, y)
    with mlflow.start_run():
        first = mlflow.sklearn.log_model(model, name="model", registered_model_name="fraud")
    with mlflow.start_run():
        second = mlflow.sklearn.log_model(model, name="model", registered_model_name="fraud")
    client = MlflowClient()
    client.create_registered_model("other", tags={"team": "growth"}, description="another")
    with pytest.raises(MlflowException, match="RESOURCE_ALREADY_EXISTS"):
        client.create_registered_model("other")

    assert [v.version for v in client.search_model_versions("name = 'fraud'")] == ["2", "1"]
    registered = {v.model_id for v in mlflow_server.backend.model_versions.list("fraud")}
    assert registered == {first.model_id, second.model_id}
    client.set_model_version_tag("fraud", "1", "validated", "true")
    assert [v.version for v in client.search_model_versions("name = 'fraud' and tags.validated = 'true'")] == ["1"]
    client.update_model_version("fraud", "1", description="first one")
    assert client.get_model_version("fraud", "1").description == "first one"

    client.transition_model_version_stage("fraud", "2", "Production", archive_existing_versions=True)
    assert client.get_model_version("fraud", "2").current_stage == "Production"
    assert [v.version for v in client.get_latest_versions("fraud", stages=["Production"])] == ["2"]

    client.set_registered_model_tag("fraud", "owner", "risk")
    client.update_registered_model("fraud", description="fraud model")
    fraud = client.get_registered_model("fraud")
    assert fraud.tags == {"owner": "risk"} and fraud.description == "fraud model"
    assert {m.name for m in client.search_registered_models("name LIKE 'fr%'")} == {"fraud"}
    assert {m.name for m in client.search_registered_models()} == {"fraud", "other"}

    client.set_registered_model_alias("fraud", "challenger", "1")
    client.delete_registered_model_alias("fraud", "challenger")
    with pytest.raises(MlflowException, match="RESOURCE_DOES_NOT_EXIST"):
        client.get_model_version_by_alias("fraud", "challenger")
    client.delete_model_version_tag("fraud", "1", "validated")
    client.delete_registered_model_tag("fraud", "owner")
    client.delete_model_version("fraud", "1")
    assert [v.version for v in client.search_model_versions("name = 'fraud'")] == ["2"]
    client.delete_registered_model("other")
    assert mlflow_server.backend.registered_models.search() and [
        m.name for m in mlflow_server.backend.registered_models.search()
    ] == ["fraud"]
