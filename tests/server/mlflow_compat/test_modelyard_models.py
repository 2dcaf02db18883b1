"""Issue 15.3 through the server: a model logged and registered with modelyard's SDK is loaded by
the unmodified mlflow client (``mlflow.pyfunc``/``mlflow.sklearn``) from the MLflow-compatible API."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from .conftest import RunningServer

with warnings.catch_warnings():  # mlflow warns about its own type hints while importing
    warnings.simplefilter("ignore")
    import mlflow
    import mlflow.models
    import mlflow.pyfunc
    import mlflow.sklearn


def test_mlflow_loads_a_model_modelyard_registered(mlflow_server: RunningServer) -> None:
    rng = np.random.default_rng(2)
    x = pd.DataFrame({"a": rng.normal(size=40), "b": rng.normal(size=40)})
    model = LogisticRegression().fit(x, (x["a"] > x["b"]).astype(int))
    backend = mlflow_server.backend
    experiment = backend.experiments.get_or_create("modelyard-side")
    run = backend.runs.create(experiment.experiment_id, user="tester")
    logged = backend.logged_models.log(run.info.run_id, model, "model", input_example=x.head(3))
    backend.model_versions.create("scorer", logged.uri, create_model=True)

    expected = model.predict(x)
    np.testing.assert_array_equal(mlflow.pyfunc.load_model("models:/scorer/1").predict(x), expected)
    np.testing.assert_array_equal(mlflow.sklearn.load_model(f"runs:/{run.info.run_id}/model").predict(x), expected)
    info = mlflow.models.get_model_info("models:/scorer/1")
    assert info.signature is not None and info.signature.inputs.input_names() == ["a", "b"]
