"""Operational figures from the inference log: failed requests give the error rate, callers' 4xx the invalid rate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from modelyard.cli.app import app as cli_app
from modelyard.domain.inference import InferenceSegment
from modelyard.monitoring.rules import parse_rule
from modelyard.serving import ServedRequest
from modelyard.serving.inference_log import ParquetRequestLogger, build_table, segment_path
from modelyard.store.repos import inference_segments
from tests.monitoring.conftest import DEPLOYMENT, HOUR_MS, T0, Simulation, frame, model


def _request(
    i: int, start_ms: int, inputs: pd.DataFrame, *, status: int = 200, error: str | None = None
) -> ServedRequest:
    return ServedRequest(
        request_id=f"{start_ms}-{i}",
        time_ms=start_ms + i * 1000,
        deployment=DEPLOYMENT,
        variant="primary" if status != 400 else "",
        model_version="churn/1" if status != 400 else "",
        inputs=inputs,
        prediction=None if error else model(inputs),
        latency_ms=float(1 + i),
        status=status,
        error=error,
    )


def test_failed_requests_give_the_error_rate_exactly_and_fire_the_rule(simulation: Simulation) -> None:
    rng = np.random.default_rng(11)
    records = []
    for i in range(100):
        inputs = frame(3, rng)
        if i % 10 == 3:  # the model raised: a server error, with the inputs it failed on
            records.append(_request(i, T0, inputs, status=500, error="ValueError"))
        elif i % 20 == 7:  # a column broke the signature: the caller's mistake
            bad = inputs.assign(age="old")
            records.append(_request(i, T0, bad, status=422, error="invalid_input"))
        elif i % 25 == 9:  # malformed JSON: no inputs at all
            records.append(_request(i, T0, pd.DataFrame(), status=400, error="invalid_input"))
        else:
            records.append(_request(i, T0, inputs))
    writer = ParquetRequestLogger(simulation.backend.db, simulation.backend.artifact_store)
    for record in records:
        writer.record(record)
    writer.close()
    service = simulation.service()
    service.create("ops", DEPLOYMENT, simulation.reference_uri, window_ms=HOUR_MS, start_ms=T0)
    service.alerts.add_rule("ops", "errors", "error_rate > 0.05")
    service.alerts.add_rule("ops", "invalid", "invalid_rate > 0.5")
    simulation.clock.advance(2 * HOUR_MS)

    [result] = service.run("ops")

    server = [r for r in records if r.status >= 500]
    caller = [r for r in records if 400 <= r.status < 500]
    answered = [r for r in records if r.status == 200]
    assert (len(server), len(caller), len(answered)) == (10, 9, 81)
    assert result.metrics["requests"] == 100
    assert result.metrics["error_rate"] == len(server) / 100  # the 4xx are not the model's errors
    assert result.metrics["invalid_rate"] == len(caller) / 100
    latencies = [r.latency_ms for r in answered]  # answered requests only: a fast 422 is not the model's speed
    assert result.metrics["p50_latency_ms"] == pytest.approx(np.percentile(latencies, 50), abs=1e-12)
    assert result.sample_rows == 3 * len(answered)  # drift is measured on what the model answered
    assert result.distributions["age"]["kind"] == "numeric"  # the refused "old" ages did not reach the sample
    [alert] = service.alerts.list()
    assert alert.rule == "errors" and alert.value == pytest.approx(0.1)
    assert parse_rule("error_rate > 0.05").holds(result.metrics)
    assert not parse_rule("invalid_rate > 0.5").holds(result.metrics)
    settings = simulation.backend.settings
    env = {
        "MODELYARD_HOME": str(settings.home),
        "MODELYARD_STORE_URI": settings.store_uri,
        "MODELYARD_ARTIFACT_URI": settings.artifact_uri,
    }
    shown = CliRunner().invoke(cli_app, ["monitor", "results", "ops"], env=env)
    assert shown.exit_code == 0, shown.output
    header, row = (line for line in shown.stdout.splitlines() if "error_rate" in line or " → " in line)
    assert [cell.strip() for cell in header.split("┃")[-3:-1]] == ["error_rate", "invalid_rate"]  # last columns
    assert [cell.strip() for cell in row.split("│")[-3:-1]] == ["0.1", "0.09"]


def test_a_segment_from_before_failures_were_logged_counts_null_predictions(simulation: Simulation) -> None:
    rng = np.random.default_rng(5)
    records = [_request(i, T0, frame(2, rng)) for i in range(10)]
    table = build_table(records, [None] * len(records)).drop_columns(["status", "error"])
    nulls = table.column("prediction").to_pylist()
    nulls[0] = nulls[5] = None  # the old rule: a null prediction was the only trace of an error
    table = table.set_column(table.schema.get_field_index("prediction"), "prediction", [nulls])
    backend = simulation.backend
    rel = segment_path(DEPLOYMENT, T0, "old")
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    backend.artifact_store.put_bytes(backend.artifact_store.root_uri, rel, sink.getvalue().to_pybytes())
    segment = InferenceSegment(
        id="old",
        deployment=DEPLOYMENT,
        start_ms=T0,
        end_ms=T0 + 9000,
        row_count=table.num_rows,
        uri=f"{backend.artifact_store.root_uri}/{rel}",
        created_ms=T0,
    )
    with backend.db.begin() as conn:
        inference_segments.add(conn, segment)
    service = simulation.service()
    service.create("old", DEPLOYMENT, simulation.reference_uri, window_ms=HOUR_MS, start_ms=T0)
    simulation.clock.advance(2 * HOUR_MS)

    [result] = service.run("old")

    assert result.metrics["error_rate"] == 2 / 20  # null predictions per row, as before
    assert result.metrics["invalid_rate"] == 0.0
