"""Issue 15.3 on both backends: a folder MLflow saved is logged, registered and loaded through the
SDK over the embedded store and through a real server alike (the remote client converts it before
uploading, the server records it as any modelyard model)."""

from __future__ import annotations

import uuid
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from modelyard.errors import PermissionDenied
from modelyard.sdk.client import Client
from tests._mlflow import MLFLOW_MARKS

with warnings.catch_warnings():  # mlflow warns about its own type hints while importing
    warnings.simplefilter("ignore")
    import mlflow.xgboost

pytestmark = MLFLOW_MARKS


def test_an_mlflow_folder_is_logged_registered_and_loaded(parity_client: Client, tmp_path: Path) -> None:
    c = parity_client
    rng = np.random.default_rng(1)
    x = pd.DataFrame({"a": rng.normal(size=40), "b": rng.normal(size=40)})
    model = xgb.XGBClassifier(n_estimators=3, max_depth=2, n_jobs=1).fit(x, (x["a"] > 0).astype(int))
    folder = tmp_path / "mlflow-model"
    mlflow.xgboost.save_model(model, folder, input_example=x.head(2), pip_requirements=["xgboost"])

    with pytest.raises(PermissionDenied):
        c.registry.load_model(str(folder))
    np.testing.assert_array_equal(c.registry.load_model(str(folder), trusted=True).predict(x), model.predict(x))

    name = f"from-mlflow-{uuid.uuid4().hex[:8]}"
    run_id = c.create_run(c.create_experiment(name)).info.run_id
    logged = c.registry.log_model(run_id, folder, "model", registered_model_name=name)
    assert logged.flavor == "xgboost" and logged.signature is not None
    assert logged.signature.input_names == ("a", "b")
    loaded = c.registry.load_model(f"models:/{name}/1")
    assert loaded.flavor == "xgboost"
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
