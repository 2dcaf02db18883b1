"""MLflow's /invocations formats against a real server, each compared with the model's own answer."""

from __future__ import annotations

from typing import Any

import httpx
import pandas as pd
import pytest

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
