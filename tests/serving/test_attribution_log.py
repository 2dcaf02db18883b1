"""Attributions of a sample of requests in the inference log: a deployment's ``explain_sample``.

A real server (``build_app`` over a real store, on a free port) logs, for the share of answered
requests its deployment asks for, the attributions its explain endpoint answers for the same rows;
other rows are null; a writer that falls behind drops them and counts; the setting is audited and
survives reloads and redeploys.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier

from modelyard.config import Settings
from modelyard.domain.serving import EventKind, VariantSpec
from modelyard.errors import InvalidInput
from modelyard.sdk.backends.local import local_backend
from modelyard.sdk.serving import build_app
from modelyard.serving import DeploymentPlan, PlanHolder, ServingPlan, start_in_thread
from modelyard.serving.attribution_log import ATTRIBUTION_PREFIX, BASE_COLUMN
from modelyard.serving.inference_log import ParquetRequestLogger
from modelyard.serving.inference_reader import InferenceLogReader
from modelyard.store.db import Database
from tests.serving._deployed import FEATURES, register
from tests.serving._stores import GatedStore
from tests.serving.conftest import ServerFactory, primary

ATTRIBUTIONS = [f"{ATTRIBUTION_PREFIX}x1", f"{ATTRIBUTION_PREFIX}x2", BASE_COLUMN]


def forest() -> RandomForestClassifier:
    labels = (FEATURES["x1"] * FEATURES["x2"] > 0.3).astype(int)
    return RandomForestClassifier(n_estimators=15, max_depth=4, random_state=0).fit(FEATURES, labels)


def read_all(reader: InferenceLogReader, deployment: str, columns: list[str] | None = None) -> pd.DataFrame:
    frames = list(reader.read_window(deployment, 0, 2**62, columns))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def records(start: int, n: int) -> dict[str, Any]:
    return {"records": FEATURES.iloc[start : start + n].to_dict(orient="records")}


def expected_from_endpoint(http: httpx.Client, request_id: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    answer = http.post("/v1/deployments/churn-api/explain", json=body["records"])
    assert answer.status_code == 200, answer.text
    return [
        {"request_id": request_id, "row": i, **{f"{ATTRIBUTION_PREFIX}{k}": v for k, v in e["attributions"].items()},
         BASE_COLUMN: e["base_value"]}
        for i, e in enumerate(answer.json()["explanations"])
    ]  # fmt: skip


def test_a_sample_of_requests_is_logged_with_the_explain_endpoints_attributions(settings: Settings) -> None:
    register(settings, "churn", [forest(), forest()], champion=1)
    backend = local_backend(settings)
    backend.deployments.deploy("churn-api", [VariantSpec(uri="models:/churn@champion")])
    assert backend.deployments.get("churn-api").explain_sample == 0.0
    server = build_app(backend, ["churn-api"])
    log = server.inference_log
    assert log is not None
    running = start_in_thread(server.app)
    expected: list[dict[str, Any]] = []
    try:
        with httpx.Client(base_url=running.url, timeout=300) as http:

            def predict(request_id: str, body: Any) -> httpx.Response:
                return http.post("/v1/deployments/churn-api/predict", json=body, headers={"x-request-id": request_id})

            # rate 0 (the default): nothing explained
            for i in range(4):
                assert predict(f"off{i}", records(i, 1)).status_code == 200
            log.flush()

            # rate 1: every answered request, single- and multi-row, JSON records or OIP v2 tensors
            made = backend.deployments.set_explain_sample("churn-api", 1.0)
            assert made.explain_sample == 1.0
            assert server.reloader.check()
            assert server.holder.current.get("churn-api").explain_sample == 1.0
            for i, n in enumerate([1, 3, 1, 2]):
                body = records(10 + 5 * i, n)
                assert predict(f"all{i}", body).status_code == 200
                expected += expected_from_endpoint(http, f"all{i}", body)
            refused = predict("bad", {"records": [{"x1": 1.0}]})  # a failed request: logged, not explained
            assert refused.status_code == 422
            log.flush()

            # rate 0.5 with the draws fixed: every other request explained, the rest null in the same segment
            assert log.attributions is not None
            draws = itertools.cycle([0.1, 0.9])
            log.log_attributions(server.app.state.explainers, rng=lambda: next(draws))
            backend.deployments.set_explain_sample("churn-api", 0.5)
            assert server.reloader.check()
            for i in range(6):
                body = records(30 + i, 1)
                assert predict(f"half{i}", body).status_code == 200
                if i % 2 == 0:
                    expected += expected_from_endpoint(http, f"half{i}", body)
            log.flush()
    finally:
        running.stop()

    frame = read_all(backend.inference_log, "churn-api")
    assert list(frame.columns[-3:]) == ATTRIBUTIONS  # after the log's own columns
    explained = frame.dropna(subset=[BASE_COLUMN]).sort_values(["request_id", "row"]).reset_index(drop=True)
    want = pd.DataFrame(expected).sort_values(["request_id", "row"]).reset_index(drop=True)
    assert explained["request_id"].tolist() == want["request_id"].tolist()
    assert explained["row"].tolist() == want["row"].tolist()
    np.testing.assert_allclose(explained[ATTRIBUTIONS].to_numpy(), want[ATTRIBUTIONS].to_numpy(), rtol=0, atol=1e-9)
    # base + attributions = the model's probability of class 1, row by row
    model = backend.model_resolver.load("models:/churn/1")
    inputs = explained[["input.x1", "input.x2"]].set_axis(["x1", "x2"], axis=1)
    outputs = explained[BASE_COLUMN] + explained[ATTRIBUTIONS[0]] + explained[ATTRIBUTIONS[1]]
    np.testing.assert_allclose(outputs, model.predict_proba(inputs)[:, 1], atol=1e-9)

    unexplained = frame[frame[BASE_COLUMN].isna()]
    assert sorted(set(unexplained["request_id"])) == sorted(
        ["bad", "half1", "half3", "half5", *(f"off{i}" for i in range(4))]
    )
    assert unexplained[ATTRIBUTIONS].isna().all().all()
    # asked for by name, the columns of segments written without any come back as nulls
    off = read_all(backend.inference_log, "churn-api", ["request_id", *ATTRIBUTIONS])
    assert off[off["request_id"].str.startswith("off")][ATTRIBUTIONS].isna().all().all()
    assert log.attributions is not None and log.attributions.explained == 3 and log.attributions.dropped == 0


def test_the_explain_sample_is_checked_audited_kept_by_redeploys_and_read_by_new_servers(settings: Settings) -> None:
    register(settings, "churn", [forest(), forest()], champion=1)
    backend = local_backend(settings)
    service = backend.deployments
    service.deploy("churn-api", [VariantSpec(uri="models:/churn@champion")])
    for bad in (-0.1, 1.5, 5, float("nan"), float("inf"), "0.1", True):
        with pytest.raises(InvalidInput, match="explain sample rate"):
            service.set_explain_sample("churn-api", bad)  # type: ignore[arg-type]
        with pytest.raises(InvalidInput, match="explain sample rate"):
            service.deploy("churn-api", [VariantSpec(uri="models:/churn/1")], explain_sample=bad)  # type: ignore[arg-type]
    assert service.get("churn-api").revision == 1  # nothing refused was written

    service.set_explain_sample("churn-api", 0.25)
    redeployed = service.deploy("churn-api", [VariantSpec(uri="models:/churn/2")])  # a new model keeps it
    assert redeployed.explain_sample == 0.25 and redeployed.revision == 3
    assert service.deploy("other", [VariantSpec(uri="models:/churn/1")], explain_sample=0.5).explain_sample == 0.5

    events = service.history("churn-api")
    assert [e.kind for e in events] == [EventKind.DEPLOYED, EventKind.EXPLAIN_SAMPLE, EventKind.DEPLOYED]
    assert events[1].before is not None and events[1].before["explain_sample"] == 0.0
    assert events[1].after is not None and events[1].after["explain_sample"] == 0.25
    audited = backend.audit.search(object_kind="deployment", object_id="churn-api")
    assert [e.action for e in audited] == ["deployment.deployed", "deployment.explain_sample", "deployment.deployed"]
    assert backend.audit.verify().ok

    # a new server (a restart) reads it from the store; a reload follows a change
    server = build_app(local_backend(settings), ["churn-api"])
    assert server.holder.current.get("churn-api").explain_sample == 0.25
    service.set_explain_sample("churn-api", 0)
    assert server.reloader.check()
    assert server.holder.current.get("churn-api").explain_sample == 0.0


def test_a_writer_behind_drops_attributions_and_counts_them_never_the_requests(
    server_factory: ServerFactory, model_dir: Any, db: Database, tmp_path: Path
) -> None:
    predictor = model_dir("attribution-forest", forest(), FEATURES)
    holder = PlanHolder(
        ServingPlan([DeploymentPlan(name="churn-api", variants=(primary(predictor),), explain_sample=1.0)])
    )
    store = GatedStore(str(tmp_path / "artifacts"))
    log = ParquetRequestLogger(db, store, batch_rows=2, flush_interval_s=600, holder=holder)
    server = server_factory(holder, request_logger=log)
    dropped: list[tuple[str, int]] = []
    sampler = log.log_attributions(server.app.state.explainers, on_dropped=lambda name, n: dropped.append((name, n)))
    log.start()
    try:
        with httpx.Client(base_url=server.url, timeout=300) as http:
            first = [http.post("/v1/deployments/churn-api/predict", json=records(i, 1)) for i in range(2)]
            assert store.entered.wait(120), "the writer never started a segment"
            # the writer is stuck on its first segment: these wait in the queue, four segments' worth
            later = [http.post("/v1/deployments/churn-api/predict", json=records(i, 1)) for i in range(2, 10)]
            store.gate.set()
            log.flush()
    finally:
        store.gate.set()
        log.close()

    assert [a.status_code for a in [*first, *later]] == [200] * 10
    frame = read_all(InferenceLogReader(db, store), "churn-api")
    assert len(frame) == 10  # every request is logged
    # the first segment and the last (nothing waiting behind it) are explained; the three between are not
    assert sampler.explained == 4 and sampler.dropped == 6 and sampler.failed == 0
    assert dropped == [("churn-api", 2)] * 3
    assert int(frame[BASE_COLUMN].notna().sum()) == 4
