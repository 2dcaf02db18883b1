"""A deployment enriched from the online store, served by a real server on a free port: requests
carry only entity keys and request fields, the model gets the features, the inference log keeps
them, and unknown entities are a 4xx or the declared defaults, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from modelyard.domain.serving import FeatureLookup, VariantSpec
from modelyard.features import Aggregation, Entity, FeatureView, Field, FileSource, PushSource
from modelyard.sdk.backends.local import LocalBackend
from modelyard.sdk.client import Client
from modelyard.sdk.features import open_feature_store
from modelyard.sdk.serving import DeploymentServer, build_app
from modelyard.serving import RunningServer, start_in_thread

COLUMNS = ["request_amount", "credit_limit", "amount_sum_1h"]
FEATURES = ("card_profile:credit_limit", "card_activity:amount_sum_1h")


def _model() -> LogisticRegression:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.uniform(0, 1000, size=(200, 3)), columns=COLUMNS)
    return LogisticRegression().fit(frame, (frame["request_amount"] > frame["credit_limit"] / 2).astype(int))


@pytest.fixture
def served(backend: LocalBackend, tmp_path: Path) -> Iterator[tuple[DeploymentServer, RunningServer]]:
    now = pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s")
    pd.DataFrame(
        {"card_id": [1, 2], "event_timestamp": [now - timedelta(hours=1)] * 2, "credit_limit": [1000.0, 200.0]}
    ).to_parquet(tmp_path / "profiles.parquet")
    store = open_feature_store(backend)
    store.apply(
        [
            Entity(name="card", join_keys=("card_id",)),
            FeatureView(
                name="card_profile",
                entity="card",
                source=FileSource(path=str(tmp_path / "profiles.parquet")),
                features=(Field(name="credit_limit"),),
                ttl=timedelta(days=1),
            ),
            FeatureView(
                name="card_activity",
                entity="card",
                source=PushSource(name="transactions", schema=(Field(name="amount"),)),
                aggregations=(Aggregation(column="amount", function="sum", window=timedelta(hours=1)),),
            ),
        ]
    )
    store.materialize(now - timedelta(days=1), now + timedelta(seconds=1))
    store.push("transactions", [{"card_id": 1, "event_timestamp": now - timedelta(minutes=5), "amount": 30.0}])
    client = Client(backend.settings)
    run = client.create_run()
    example = pd.DataFrame({c: [1.0] for c in COLUMNS})
    client.registry.log_model(run.info.run_id, _model(), "model", input_example=example, registered_model_name="fraud")
    client.set_terminated(run.info.run_id)
    deployments = backend.deployments
    deployments.deploy("fraud", [VariantSpec(uri="models:/fraud/1")], features=FeatureLookup(features=FEATURES))
    deployments.deploy(
        "fraud-lenient",
        [VariantSpec(uri="models:/fraud/1")],
        features=FeatureLookup(features=FEATURES, on_missing="default", defaults={"credit_limit": 500.0}),
    )
    server = build_app(backend, ["fraud", "fraud-lenient"])
    http = start_in_thread(server.app)
    yield server, http
    http.stop()


def _predict(url: str, deployment: str, *records: dict[str, object]) -> httpx.Response:
    return httpx.post(f"{url}/v1/deployments/{deployment}/predict", json={"records": list(records)}, timeout=30)


def test_requests_with_entity_keys_only_are_enriched_and_logged(
    served: tuple[DeploymentServer, RunningServer], backend: LocalBackend
) -> None:
    server, http = served
    answer = _predict(
        http.url, "fraud", {"card_id": 1, "request_amount": 900.0}, {"card_id": 2, "request_amount": 50.0}
    )
    assert answer.status_code == 200, answer.text
    expected = _model().predict(
        pd.DataFrame({"request_amount": [900.0, 50.0], "credit_limit": [1000.0, 200.0], "amount_sum_1h": [30.0, 0.0]})
    )
    assert answer.json()["predictions"] == expected.tolist()
    assert server.inference_log is not None
    server.inference_log.flush()
    logged = pd.concat(backend.inference_log.read_window("fraud", 0, 2**62))
    assert logged["input.credit_limit"].tolist() == [1000.0, 200.0]
    assert logged["input.amount_sum_1h"].tolist() == [30.0, 0.0]
    assert "input.card_id" not in logged.columns  # the key only named the entity; the model never saw it


def test_unknown_entities_are_refused_or_take_the_declared_defaults(
    served: tuple[DeploymentServer, RunningServer], backend: LocalBackend
) -> None:
    server, http = served
    refused = _predict(http.url, "fraud", {"card_id": 99, "request_amount": 10.0})
    assert refused.status_code == 404
    assert "has no card" in refused.text and "99" in refused.text
    lenient = _predict(http.url, "fraud-lenient", {"card_id": 99, "request_amount": 10.0})
    assert lenient.status_code == 200, lenient.text
    assert server.inference_log is not None
    server.inference_log.flush()
    logged = pd.concat(backend.inference_log.read_window("fraud-lenient", 0, 2**62))
    assert logged["input.credit_limit"].tolist() == [500.0]  # the declared default
    assert logged["input.amount_sum_1h"].tolist() == [0.0]  # no events in the window: a sum of 0
    no_key = _predict(http.url, "fraud", {"request_amount": 10.0})
    assert 400 <= no_key.status_code < 500 and "card_id" in no_key.text
