"""The inference log: complete after a normal stop, never blocking, partitioned and readable by window."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from modelyard.config import Settings
from modelyard.domain.serving import VariantSpec
from modelyard.errors import InvalidInput
from modelyard.sdk.backends.local import local_backend
from modelyard.sdk.serving import build_app
from modelyard.serving import ServedRequest, ServingPlan, start_in_thread
from modelyard.serving.feedback import FeedbackService
from modelyard.serving.inference_log import FIXED_COLUMNS, ParquetRequestLogger, features
from modelyard.serving.inference_reader import InferenceLogReader
from modelyard.store.artifacts import ArtifactStore
from modelyard.store.db import Database
from tests.serving._deployed import FEATURES, classifier, register
from tests.serving._stores import GatedStore
from tests.serving.conftest import ServerFactory, rows

HOUR_MS = 3_600_000
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def read_all(reader: InferenceLogReader, deployment: str, **options: Any) -> pd.DataFrame:
    frames = list(reader.read_window(deployment, 0, 2**62, **options))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def test_every_request_is_in_the_log_after_a_normal_stop(settings: Settings) -> None:
    register(settings, "churn", [classifier(0.0)], champion=1)
    backend = local_backend(settings)
    backend.deployments.deploy("churn-api", [VariantSpec(uri="models:/churn@champion")])
    server = build_app(backend, ["churn-api"])
    assert server.inference_log is not None
    running = start_in_thread(server.app)
    count = 25
    with httpx.Client(base_url=running.url) as http:
        for i in range(count):
            body = {"records": FEATURES.iloc[i : i + 1].to_dict(orient="records")}
            answer = http.post("/v1/deployments/churn-api/predict", json=body, headers={"x-request-id": f"r{i}"})
            assert answer.status_code == 200, answer.text
    running.stop()  # the flush interval (10 s) has not passed: only the shutdown writes the segment

    log = read_all(backend.inference_log, "churn-api")

    assert len(log) == count
    assert sorted(log["request_id"]) == sorted(f"r{i}" for i in range(count))
    assert list(log.columns) == [
        *FIXED_COLUMNS,
        "input.x1",
        "input.x2",
        "prediction",
        "probability",
        "latency_ms",
        "status",
        "error",
    ]
    log = log.set_index("request_id").loc[[f"r{i}" for i in range(count)]]
    predictor = backend.model_resolver.load("models:/churn/1")
    expected = predictor.predict(FEATURES.head(count))
    assert log["prediction"].tolist() == list(expected)
    np.testing.assert_allclose(np.stack(log["probability"].to_list()), predictor.predict_proba(FEATURES.head(count)))
    pd.testing.assert_frame_equal(features(log).reset_index(drop=True), FEATURES.head(count))
    assert set(log["variant"]) == {"primary"} and set(log["model_version"]) == {"churn/1"}
    assert (log["latency_ms"] > 0).all() and (log["row"] == 0).all()

    segments = backend.inference_log.segments("churn-api", 0, 2**62)
    assert sum(s.row_count for s in segments) == count
    for segment in segments:
        assert re.search(r"/inference/churn-api/\d{4}-\d{2}-\d{2}/\d{2}/[0-9a-f]{32}\.parquet$", segment.uri)
        assert Path(segment.uri).is_file()


def test_a_full_queue_drops_and_counts_without_failing_requests(
    server_factory: ServerFactory, single_plan: ServingPlan, frame: pd.DataFrame, db: Database, tmp_path: Path
) -> None:
    store = GatedStore(str(tmp_path / "artifacts"))
    log = ParquetRequestLogger(db, store, queue_size=2, batch_rows=1)
    log.start()
    server = server_factory(single_plan, request_logger=log)
    try:
        with httpx.Client(base_url=server.url) as http:
            first = http.post("/v1/deployments/churn/predict", json=rows(frame, 1))
            http.get("/v2/health/ready")  # the first request has been reported
            assert store.entered.wait(30), "the writer never started a segment"
            answers = [http.post("/v1/deployments/churn/predict", json=rows(frame, 1)) for _ in range(9)]
            http.get("/v2/health/ready")
            metrics = http.get("/metrics").text
    finally:
        store.gate.set()
        server.stop()
        log.close()

    assert [a.status_code for a in [first, *answers]] == [200] * 10
    # one record held by the blocked writer, two in the queue, the other seven dropped and counted
    assert log.dropped == 7
    assert "modelyard_request_log_dropped_total 7.0" in metrics
    assert len(read_all(InferenceLogReader(db, store), "churn")) == 3
    assert log.record(_served("late", T0)) is False  # closed: refused, not lost silently


def _served(request_id: str, time_ms: int, n: int = 1, deployment: str = "fraud") -> ServedRequest:
    inputs = pd.DataFrame({"amount": np.arange(n, dtype=float) + time_ms % 97, "country": ["de"] * n})
    return ServedRequest(
        request_id=request_id,
        time_ms=time_ms,
        deployment=deployment,
        variant="primary",
        model_version="fraud/1",
        inputs=inputs,
        prediction=np.arange(n) % 2,
        latency_ms=1.5,
    )


@pytest.fixture
def store(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore(str(tmp_path / "artifacts"))


def test_segments_are_split_by_hour_and_windows_filter_rows(db: Database, store: ArtifactStore) -> None:
    log = ParquetRequestLogger(db, store)
    times = [T0 + 10, T0 + 20, T0 + HOUR_MS - 1, T0 + HOUR_MS, T0 + HOUR_MS + 5]
    for i, t in enumerate(times):
        assert log.record(_served(f"q{i}", t, n=2))
    log.record(_served("other", T0 + 15, deployment="churn"))
    log.close()  # never started: close still writes what was queued
    reader = InferenceLogReader(db, store)

    segments = reader.segments("fraud", 0, 2**62)
    folders = sorted(Path(s.uri).parent.relative_to(store.root_uri).as_posix() for s in segments)
    assert folders == ["inference/fraud/2026-01-01/00", "inference/fraud/2026-01-01/01"]
    assert [s.row_count for s in sorted(segments, key=lambda s: s.start_ms)] == [6, 4]

    window = pd.concat(reader.read_window("fraud", T0 + 20, T0 + HOUR_MS + 1))
    assert sorted(set(window["request_id"])) == ["q1", "q2", "q3"]
    assert len(window) == 6 and window["row"].tolist().count(1) == 3
    assert reader.segments("fraud", T0 + HOUR_MS + 6, T0 + 2 * HOUR_MS) == []
    assert list(reader.read_window("fraud", T0 + HOUR_MS + 6, T0 + 2 * HOUR_MS)) == []
    with pytest.raises(InvalidInput, match="start_ms < end_ms"):
        list(reader.read_window("fraud", T0, T0))


def test_windows_stream_in_bounded_chunks_with_chosen_columns_and_feedback(db: Database, store: ArtifactStore) -> None:
    log = ParquetRequestLogger(db, store, batch_rows=10_000)
    for i in range(30):
        log.record(_served(f"q{i}", T0 + i))
    log.close()
    FeedbackService(db).log_many({"q3": 1, "q4": "fraud"})
    reader = InferenceLogReader(db, store)

    chunks = list(
        reader.read_window("fraud", T0, T0 + 100, ["time_ms", "input.amount", "nope"], chunk_rows=7, with_feedback=True)
    )

    assert [len(c) for c in chunks] == [7, 7, 7, 7, 2]
    joined = pd.concat(chunks, ignore_index=True)
    assert list(joined.columns) == ["time_ms", "input.amount", "nope", "request_id", "label", "label_time_ms"]
    assert joined["nope"].isna().all()
    labels = dict(zip(joined["request_id"], joined["label"], strict=True))
    assert (labels["q3"], labels["q4"], labels["q5"]) == (1, "fraud", None)


def test_sampling_keeps_the_configured_share(db: Database, store: ArtifactStore) -> None:
    draws = itertools.cycle([0.05, 0.35, 0.65, 0.95])  # a sample rate of 0.5 keeps the first two of every four
    log = ParquetRequestLogger(db, store, sample=0.5, rng=lambda: next(draws))
    for i in range(40):
        assert log.record(_served(f"q{i}", T0 + i))
    log.close()
    assert (log.sampled_out, log.dropped, log.written_rows) == (20, 0, 20)
    with pytest.raises(InvalidInput, match="sample rate"):
        ParquetRequestLogger(db, store, sample=1.5)
