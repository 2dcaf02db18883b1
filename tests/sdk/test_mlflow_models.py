"""Issue 15.3: a folder MLflow saved goes through modelyard's public model API (``import modelyard
as my``): ``load_model`` under the trust rule, ``log_model`` and ``register_model`` into the
registry with the modelyard flavor of its library, and back out to MLflow's loader."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from modelyard.domain.models import ColumnSpec, DataType
from modelyard.errors import PermissionDenied
from tests._mlflow import MLFLOW_MARKS

with warnings.catch_warnings():  # mlflow warns about its own type hints while importing
    warnings.simplefilter("ignore")
    import mlflow.pyfunc
    import mlflow.sklearn

pytestmark = MLFLOW_MARKS


@pytest.fixture
def mlflow_folder(tmp_path: Path) -> tuple[Path, pd.DataFrame, np.ndarray]:
    """A scikit-learn model saved by MLflow (cloudpickle, so loading it unpickles), and its data."""
    rng = np.random.default_rng(5)
    x = pd.DataFrame({"a": rng.normal(size=40), "b": rng.normal(size=40)})
    model = LogisticRegression().fit(x, (x["a"] > x["b"]).astype(int))
    folder = tmp_path / "from-mlflow"
    mlflow.sklearn.save_model(
        model, folder, input_example=x.head(2), serialization_format="cloudpickle", pip_requirements=["scikit-learn"]
    )
    return folder, x, model.predict(x)


def test_load_model_reads_an_mlflow_folder_only_when_trusted(
    my: Any, mlflow_folder: tuple[Path, pd.DataFrame, np.ndarray]
) -> None:
    folder, x, expected = mlflow_folder
    with pytest.raises(PermissionDenied, match="never recorded"):
        my.load_model(folder)  # unpickling a folder anyone could write runs their code
    predictor = my.load_model(folder, trusted=True)
    assert predictor.flavor == "sklearn"
    np.testing.assert_array_equal(predictor.predict(x), expected)


def test_register_model_logs_an_mlflow_folder_as_a_modelyard_model(
    my: Any, mlflow_folder: tuple[Path, pd.DataFrame, np.ndarray]
) -> None:
    folder, x, expected = mlflow_folder
    version = my.register_model(str(folder), "churn", description="from MLflow")
    assert version.version == 1 and version.description == "from MLflow"
    registry = my.client().registry
    logged = registry.get_logged_model(version.model_id)
    assert logged.flavor == "sklearn" and logged.artifact_path == "churn"
    assert logged.signature is not None
    assert logged.signature.inputs == (
        ColumnSpec(name="a", dtype=DataType.FLOAT64),
        ColumnSpec(name="b", dtype=DataType.FLOAT64),
    )

    predictor = my.load_model("models:/churn/1")  # recorded: no trust needed
    np.testing.assert_array_equal(predictor.predict(x), expected)
    example = predictor.input_example()
    assert example is not None and list(example.columns) == ["a", "b"]

    with my.start_run():
        second = my.log_model(folder, "model", registered_model_name="churn")
    assert registry.get_model_version("churn", 2).model_id == second.model_id

    # and back: the registered modelyard model opens in MLflow's own loader
    stored = my.client()._backend.model_resolver.resolve("models:/churn/2").local_path
    np.testing.assert_array_equal(mlflow.pyfunc.load_model(str(stored)).predict(x), expected)
    np.testing.assert_array_equal(mlflow.sklearn.load_model(str(stored)).predict(x), expected)
