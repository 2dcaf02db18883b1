"""Failed requests in the inference log (status and error kind), old segments still read, and a flush on demand."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelyard.domain.inference import InferenceSegment
from modelyard.errors import BackendUnavailable
from modelyard.models import Predictor
from modelyard.serving import DeploymentPlan, Mode, ServedRequest, ServingPlan, Variant
from modelyard.serving.inference_log import ParquetRequestLogger, build_table, segment_path
from modelyard.serving.inference_reader import InferenceLogReader
from modelyard.store.artifacts import ArtifactStore
from modelyard.store.db import Database
from modelyard.store.repos import inference_segments
from tests.serving.conftest import ServerFactory, primary, rows

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
PREDICT = "/v1/deployments/churn/predict"


class RaisesOnLargeCounts:
    """Answers like a classifier, but raises on any row with ``n`` above 3: a model with a bug."""

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        if (df["n"] > 3).any():
            raise ValueError("n above 3 is not supported")
        return (df["x1"] > 0).astype(int).to_numpy()


@pytest.fixture
def store(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore(str(tmp_path / "artifacts"))


@pytest.fixture
def raising(frame: pd.DataFrame, model_dir: Any) -> Predictor:
    return model_dir("raises-on-large-n", RaisesOnLargeCounts(), frame)  # type: ignore[no-any-return]


def read_all(reader: InferenceLogReader, deployment: str = "churn", **options: Any) -> pd.DataFrame:
    frames = list(reader.read_window(deployment, 0, 2**62, **options))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def test_failed_requests_are_logged_with_status_and_kind_and_flush_makes_them_readable(
    server_factory: ServerFactory, raising: Predictor, frame: pd.DataFrame, db: Database, store: ArtifactStore
) -> None:
    plan = ServingPlan([DeploymentPlan(name="churn", variants=(primary(raising),))])
    log = ParquetRequestLogger(db, store, flush_interval_s=600)  # only a flush (or the stop) writes
    log.start()
    server = server_factory(plan, request_logger=log)
    reader = InferenceLogReader(db, store)
    good = frame[frame["n"] <= 3].head(7)  # request i sends rows i and i + 1
    bad = frame[frame["n"] > 3].head(3)
    statuses: dict[str, int] = {}
    try:
        with httpx.Client(base_url=server.url) as http:

            def post(rid: str, **body: Any) -> None:
                statuses[rid] = http.post(PREDICT, headers={"x-request-id": rid}, **body).status_code

            for i in range(6):
                post(f"ok{i}", json=rows(good.iloc[i:], 2))
            for i in range(len(bad)):
                post(f"boom{i}", json=rows(bad.iloc[i:], 1))
            post("typo", json=[{"x1": "high", "x2": 0.5, "n": 1}])  # breaks the signature: 422
            post("garbled", content=b"{not json")  # never became a frame: 400
            unknown = http.post("/v1/deployments/nope/predict", json=rows(good, 1))
            assert read_all(reader).empty  # queued, not written: the flush interval is ten minutes
            log.flush(timeout=30)
            chunks = list(reader.read_window("churn", 0, 2**62))  # the server still runs: the flush made them readable
    finally:
        server.stop()
        log.close()

    logged = pd.concat(chunks, ignore_index=True)
    assert statuses == {
        **{f"ok{i}": 200 for i in range(6)},
        **{f"boom{i}": 500 for i in range(len(bad))},
        "typo": 422,
        "garbled": 400,
    }
    assert unknown.status_code == 404
    assert set(logged["request_id"]) == set(statuses)  # a deployment this server doesn't serve isn't logged
    by_request = logged.groupby("request_id").agg(
        rows=("row", "size"), status=("status", "first"), error=("error", "first")
    )
    answered = by_request.loc[[f"ok{i}" for i in range(6)]]
    assert (answered["rows"] == 2).all() and (answered["status"] == 200).all() and answered["error"].isna().all()
    failed = by_request.loc[[f"boom{i}" for i in range(len(bad))]]
    assert (failed["status"] == 500).all() and (failed["error"] == "ValueError").all()
    assert by_request.loc["typo", "status"] == 422 and by_request.loc["typo", "error"] == "invalid_input"
    assert by_request.loc["garbled", "status"] == 400 and by_request.loc["garbled", "error"] == "invalid_input"

    boom = logged.set_index("request_id").loc["boom0"]
    assert boom["prediction"] is None and boom["variant"] == "blue" and boom["model_version"] == "churn/1"
    assert boom["input.n"] == bad["n"].iloc[0] and boom["latency_ms"] > 0  # the inputs it failed on
    typo = logged.set_index("request_id").loc["typo"]
    assert typo["input.x1"] == "high"  # what the caller sent, for data-quality checks
    garbled = logged.set_index("request_id").loc["garbled"]
    assert garbled["variant"] == "" and pd.isna(garbled["input.x1"]) and garbled["row"] == 0
    [answered_segment] = [c for c in chunks if (c["status"] == 200).all()]  # failures have segments of their own
    assert answered_segment["input.x1"].dtype == np.float64  # so the caller's "high" did not make it text
    ok = logged[logged["status"] == 200]
    for i in range(6):
        sent = pd.DataFrame(rows(good.iloc[i:], 2))
        answer = ok[ok["request_id"] == f"ok{i}"].sort_values("row")["prediction"].tolist()
        assert answer == RaisesOnLargeCounts().predict(sent).tolist()


def test_a_failing_shadow_is_not_the_deployments_error(
    server_factory: ServerFactory,
    classifier: Predictor,
    failing: Predictor,
    frame: pd.DataFrame,
    db: Database,
    store: ArtifactStore,
) -> None:
    shadow = Variant(name="broken", model_version="churn/9", predictor=failing, mode=Mode.SHADOW)
    plan = ServingPlan([DeploymentPlan(name="churn", variants=(primary(classifier), shadow))])
    log = ParquetRequestLogger(db, store, flush_interval_s=600)
    log.start()
    server = server_factory(plan, request_logger=log)
    try:
        with httpx.Client(base_url=server.url) as http:
            answers = [http.post(PREDICT, json=rows(frame.iloc[i:], 1)) for i in range(5)]
        assert server.app.state.shadows.wait_idle(30)  # type: ignore[attr-defined]
        log.flush()
        logged = read_all(InferenceLogReader(db, store))
    finally:
        server.stop()
        log.close()

    assert [a.status_code for a in answers] == [200] * 5
    assert len(logged) == 5 and (logged["status"] == 200).all() and logged["error"].isna().all()
    assert set(logged["variant"]) == {"blue"}


def _served(request_id: str, time_ms: int) -> ServedRequest:
    inputs = pd.DataFrame({"amount": [float(time_ms % 97)], "country": ["de"]})
    return ServedRequest(
        request_id=request_id,
        time_ms=time_ms,
        deployment="fraud",
        variant="primary",
        model_version="fraud/1",
        inputs=inputs,
        prediction=np.array([1]),
        latency_ms=1.5,
    )


def test_a_segment_written_before_status_existed_still_reads(db: Database, store: ArtifactStore) -> None:
    old = build_table([_served(f"old{i}", T0 + i) for i in range(3)], [None] * 3).drop_columns(["status", "error"])
    rel = segment_path("fraud", T0, "0" * 32)
    sink = pa.BufferOutputStream()
    pq.write_table(old, sink)
    store.put_bytes(store.root_uri, rel, sink.getvalue().to_pybytes())
    segment = InferenceSegment(
        id="0" * 32,
        deployment="fraud",
        start_ms=T0,
        end_ms=T0 + 2,
        row_count=3,
        uri=f"{store.root_uri}/{rel}",
        created_ms=T0,
    )
    with db.begin() as conn:
        inference_segments.add(conn, segment)
    log = ParquetRequestLogger(db, store)
    log.record(_served("new", T0 + 10))
    log.record(dataclasses.replace(_served("oops", T0 + 11), status=500, error="ValueError", prediction=None))
    log.flush()  # never started: the flush writes here
    reader = InferenceLogReader(db, store)

    everything = read_all(reader, "fraud")
    chosen = read_all(reader, "fraud", columns=["request_id", "prediction", "status", "error"])

    assert sorted(everything["request_id"]) == ["new", "old0", "old1", "old2", "oops"]
    assert list(chosen.columns) == ["request_id", "prediction", "status", "error"]
    statuses = dict(zip(chosen["request_id"], chosen["status"], strict=True))
    assert [pd.isna(statuses[f"old{i}"]) for i in range(3)] == [True] * 3  # missing column: all answered
    assert (statuses["new"], statuses["oops"]) == (200, 500)


def test_flush_reports_a_writer_that_cannot_get_there(db: Database, tmp_path: Path) -> None:
    class StuckStore(ArtifactStore):
        def __init__(self, root: str) -> None:
            super().__init__(root)
            self.gate = threading.Event()

        def put_bytes(self, base_uri: str, rel_path: str, data: bytes) -> None:
            self.gate.wait(60)
            super().put_bytes(base_uri, rel_path, data)

    store = StuckStore(str(tmp_path / "artifacts"))
    log = ParquetRequestLogger(db, store, flush_interval_s=600)
    log.start()
    try:
        log.record(_served("q", T0))
        with pytest.raises(BackendUnavailable, match="did not write 1 queued request"):
            log.flush(timeout=0.5)
        store.gate.set()
        log.flush(timeout=30)
        assert log.written_rows == 1
    finally:
        store.gate.set()
        log.close()


def test_a_record_that_cannot_be_written_is_dropped_alone(db: Database, store: ArtifactStore) -> None:
    """A refused request whose columns repeat a name used to fail its whole segment, losing every
    failed request of the batch (real 500s included)."""
    log = ParquetRequestLogger(db, store, flush_interval_s=600)

    def failed(rid: str, inputs: pd.DataFrame, status: int, error: str) -> ServedRequest:
        return ServedRequest(
            request_id=rid, time_ms=T0, deployment="churn", variant="blue", model_version="churn/1",
            inputs=inputs, prediction=None, latency_ms=1.0, status=status, error=error,
        )  # fmt: skip

    duplicated = pd.DataFrame([[1.0, 2.0]], columns=["x1", "x1"])
    log.record(failed("boom", pd.DataFrame({"x1": [1.0], "n": [5]}), 500, "ValueError"))
    log.record(failed("dup", duplicated, 422, "invalid_input"))
    log.record(failed("typo", pd.DataFrame({"x1": ["high"], "n": [1]}), 422, "invalid_input"))
    log.flush(timeout=30)
    logged = read_all(InferenceLogReader(db, store))
    assert sorted(logged["request_id"]) == ["boom", "typo"]
    assert log.unwritable_records == 1 and log.failed_records == 0
