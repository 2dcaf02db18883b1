"""The request hook: every served (or failed) request recorded once, full queues drop and count, never block."""

from __future__ import annotations

import httpx
import pandas as pd

from modelyard.models import Predictor
from modelyard.serving import QueueRequestLogger, ServedRequest, ServingPlan
from tests.serving.conftest import ServerFactory, rows


def test_every_served_request_is_recorded(
    server_factory: ServerFactory, single_plan: ServingPlan, classifier: Predictor, frame: pd.DataFrame
) -> None:
    log = QueueRequestLogger(maxsize=100)
    server = server_factory(single_plan, request_logger=log)
    with httpx.Client(base_url=server.url) as client:
        for i in range(10):
            assert (
                client.post(
                    "/v1/deployments/churn/predict", json=rows(frame.iloc[i:], 2), headers={"x-request-id": f"q{i}"}
                ).status_code
                == 200
            )
        assert client.post("/v1/deployments/churn/predict", content=b"oops").status_code == 400
        client.get("/v2/health/ready")  # a later request on the same connection: earlier reports have run

    *records, refused = log.drain()

    assert (refused.status, refused.error, refused.prediction) == (400, "invalid_input", None)  # logged as a failure
    assert [r.request_id for r in records] == [f"q{i}" for i in range(10)]
    assert all(r.status == 200 and r.error is None for r in records)
    first = records[0]
    assert (first.deployment, first.variant, first.model_version) == ("churn", "blue", "churn/1")
    pd.testing.assert_frame_equal(first.inputs.reset_index(drop=True), frame.iloc[0:2].reset_index(drop=True))
    assert first.prediction.tolist() == classifier.predict(frame.iloc[0:2]).tolist()
    assert first.latency_ms > 0
    assert log.dropped == 0


def test_full_queue_drops_and_counts(
    server_factory: ServerFactory, single_plan: ServingPlan, frame: pd.DataFrame
) -> None:
    log = QueueRequestLogger(maxsize=3)
    server = server_factory(single_plan, request_logger=log)
    with httpx.Client(base_url=server.url) as client:
        answers = [client.post("/v1/deployments/churn/predict", json=rows(frame, 1)) for _ in range(8)]
        client.get("/v2/health/ready")

    assert [a.status_code for a in answers] == [200] * 8
    assert (len(log), log.dropped, log.accepted) == (3, 5, 3)
    metrics = httpx.get(f"{server.url}/metrics").text
    assert "modelyard_request_log_dropped_total 5.0" in metrics
    assert len(log.drain(2)) == 2 and len(log) == 1


def test_queue_logger_alone() -> None:
    log = QueueRequestLogger(maxsize=1)
    record = ServedRequest(
        request_id="r",
        time_ms=0,
        deployment="d",
        variant="v",
        model_version="m/1",
        inputs=pd.DataFrame({"a": [1]}),
        prediction=[0],
        latency_ms=1.0,
    )
    assert not log.wait(0)
    assert log.record(record) and not log.record(record)
    assert log.wait(0)
    assert log.drain() == [record]
    assert not log.wait(0)
