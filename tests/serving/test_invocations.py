"""MLflow's /invocations formats against a real server, each compared with the model's own answer."""

from __future__ import annotations

import importlib.metadata
import warnings
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from starlette.testclient import TestClient

from modelyard.models import Predictor
from modelyard.serving import DeploymentPlan, ServingPlan
from tests.serving.conftest import ServerFactory, primary, rows


def _bodies(frame: pd.DataFrame) -> dict[str, Any]:
    head = frame.head(3)
    return {
        "dataframe_split": {"dataframe_split": head.to_dict(orient="split", index=False)},
        "dataframe_records": {"dataframe_records": rows(frame)},
        "instances_records": {"instances": rows(frame)},
        "instances_rows": {"instances": head.to_numpy().tolist()},
        "inputs_columns": {"inputs": head.to_dict(orient="list"), "params": {"ignored": 1}},
    }


@pytest.mark.parametrize(
    "shape", ["dataframe_split", "dataframe_records", "instances_records", "instances_rows", "inputs_columns"]
)
def test_each_json_format(
    shape: str, server_factory: ServerFactory, single_plan: ServingPlan, classifier: Predictor, frame: pd.DataFrame
) -> None:
    server = server_factory(single_plan)

    response = httpx.post(f"{server.url}/invocations", json=_bodies(frame)[shape])

    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": classifier.predict(frame.head(3)).tolist()}
    assert response.headers["x-modelyard-variant"] == "blue"


def test_csv_body(
    server_factory: ServerFactory, single_plan: ServingPlan, classifier: Predictor, frame: pd.DataFrame
) -> None:
    server = server_factory(single_plan)
    csv = frame.head(4).to_csv(index=False)

    response = httpx.post(f"{server.url}/invocations", content=csv, headers={"content-type": "text/csv"})

    assert response.status_code == 200, response.text
    assert response.json()["predictions"] == classifier.predict(frame.head(4)).tolist()


def test_several_deployments_are_named_by_header_or_path(
    server_factory: ServerFactory, classifier: Predictor, regressor: Predictor, frame: pd.DataFrame
) -> None:
    plan = ServingPlan(
        [
            DeploymentPlan(name="churn", variants=(primary(classifier),)),
            DeploymentPlan(name="value", variants=(primary(regressor, version="value/2"),)),
        ]
    )
    server = server_factory(plan)
    body = {"dataframe_records": rows(frame)}

    unnamed = httpx.post(f"{server.url}/invocations", json=body)
    by_header = httpx.post(f"{server.url}/invocations", json=body, headers={"x-modelyard-deployment": "value"})
    by_path = httpx.post(f"{server.url}/deployments/value/invocations", json=body)

    assert unnamed.status_code == 404
    assert unnamed.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    expected = pytest.approx(regressor.predict(frame.head(3)).tolist())
    assert by_header.json()["predictions"] == expected
    assert by_path.json()["predictions"] == expected
    assert by_path.headers["x-modelyard-model-version"] == "value/2"


def test_errors_and_version_match_mlflows_scoring_server(
    server_factory: ServerFactory, single_plan: ServingPlan, frame: pd.DataFrame, tmp_path: Path
) -> None:
    """Issue 15.5: same status and error shape as MLflow's own scoring server (run in-process here)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import mlflow
        from mlflow.pyfunc import scoring_server
        from mlflow.pyfunc.scoring_server.client import ScoringServerClient

        y = (frame["x1"] + frame["x2"] > 0).astype(int)
        mlflow.sklearn.save_model(LogisticRegression().fit(frame, y), tmp_path / "m", input_example=frame.head(3))
        reference = TestClient(scoring_server.init(mlflow.pyfunc.load_model(str(tmp_path / "m"))))
    server = server_factory(single_plan)
    missing_column = {"dataframe_records": [{"x1": 1.0, "x2": 2.0}]}

    theirs = reference.post("/invocations", json=missing_column)
    ours = httpx.post(f"{server.url}/invocations", json=missing_column)

    assert ours.status_code == theirs.status_code == 400
    assert {"error_code", "message", "error_class"} <= set(ours.json()) & set(theirs.json())
    assert ours.json()["error_code"] == theirs.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert ours.json()["error_class"] == theirs.json()["error_class"]
    assert "'n'" in ours.json()["message"]
    client = ScoringServerClient("127.0.0.1", int(server.url.rsplit(":", 1)[1]))
    client.ping()
    assert client.get_version() == importlib.metadata.version("modelyard")
    assert len(client.invoke(frame.head(4)).get_predictions()) == 4
    # modelyard's own routes keep 422 for the same refusal
    assert httpx.post(f"{server.url}/v1/deployments/churn/predict", json=[{"x1": 1.0, "x2": 2.0}]).status_code == 422
