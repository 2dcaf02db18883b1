"""The plain records endpoint against a real server: answers, headers, listing and metrics."""

from __future__ import annotations

import httpx
import pandas as pd

from modelyard.models import Predictor
from modelyard.serving import ServingPlan
from tests.serving.conftest import ServerFactory, rows


def test_records_predict_matches_the_model(
    server_factory: ServerFactory, single_plan: ServingPlan, classifier: Predictor, frame: pd.DataFrame
) -> None:
    server = server_factory(single_plan)
    expected = classifier.predict(frame.head(3)).tolist()

    response = httpx.post(f"{server.url}/v1/deployments/churn/predict", json=rows(frame))

    assert response.status_code == 200
    body = response.json()
    assert body["predictions"] == expected
    assert (body["variant"], body["model_version"]) == ("blue", "churn/1")
    assert response.headers["x-modelyard-variant"] == "blue"
    assert response.headers["x-modelyard-model-version"] == "churn/1"
    assert response.headers["x-request-id"] == body["request_id"]


def test_request_id_is_echoed_and_single_object_is_one_row(
    server_factory: ServerFactory, single_plan: ServingPlan, classifier: Predictor, frame: pd.DataFrame
) -> None:
    server = server_factory(single_plan)
    one = rows(frame, 1)[0]

    response = httpx.post(f"{server.url}/v1/deployments/churn/predict", json=one, headers={"x-request-id": "req-42"})

    assert response.status_code == 200
    assert response.headers["x-request-id"] == "req-42"
    assert response.json()["predictions"] == classifier.predict(frame.head(1)).tolist()


def test_listing_and_metrics_count_requests(
    server_factory: ServerFactory, single_plan: ServingPlan, frame: pd.DataFrame
) -> None:
    server = server_factory(single_plan)
    for _ in range(3):
        assert (
            httpx.post(f"{server.url}/v1/deployments/churn/predict", json={"records": rows(frame)}).status_code == 200
        )
    assert httpx.post(f"{server.url}/v1/deployments/churn/predict", content=b"{").status_code == 400

    listing = httpx.get(f"{server.url}/v1/deployments").json()
    metrics = httpx.get(f"{server.url}/metrics").text

    assert listing["deployments"][0]["traffic"] == {"blue": 100.0}
    assert 'modelyard_requests_total{deployment="churn",status="200",variant="blue"} 3.0' in metrics
    assert 'modelyard_request_errors_total{deployment="churn",kind="InvalidInput",variant="-"} 1.0' in metrics
    assert 'modelyard_request_latency_seconds_count{deployment="churn",variant="blue"} 3.0' in metrics
