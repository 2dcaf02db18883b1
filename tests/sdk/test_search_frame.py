"""``search_runs`` as a DataFrame, read as columns (``Client.search_run_columns``; on PostgreSQL each
metric's latest values arrive as two binary arrays): the frame must hold exactly what the runs hold
as objects, on SQLite and PostgreSQL, whatever is missing, NaN, infinite or oddly named."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from modelyard.config import Settings
from modelyard.domain.tracking import Metric, Run, RunColumns
from modelyard.sdk.client import Client
from modelyard.sdk.frames import columns_to_frame


@pytest.fixture
def client(sdk_settings: Settings) -> Client:
    return Client(sdk_settings)


def _expected(runs: list[Run]) -> dict[str, dict[str, object]]:
    """run id -> column -> value, from the runs as objects (the reference)."""
    out: dict[str, dict[str, object]] = {}
    for run in runs:
        row: dict[str, object] = {f"metrics.{k}": v for k, v in run.data.metrics.items()}
        row.update({f"params.{k}": v for k, v in run.data.params.items()})
        row.update({f"tags.{k}": v for k, v in run.data.tags.items()})
        out[run.info.run_id] = row
    return out


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return repr(a) == repr(b)  # NaN equals NaN, -0.0 is not 0.0
    return a == b


def test_the_frame_holds_what_the_runs_hold(client: Client) -> None:
    experiment_id = client.create_experiment("frames")
    specials = [math.nan, math.inf, -math.inf, -0.0, 1e-300, 12345.678]
    for i in range(40):
        run_id = client.create_run(experiment_id).info.run_id
        metrics = [Metric(key=f"m{j}", value=float(i * 10 + j), timestamp=1, step=0) for j in range(i % 5)]
        metrics.append(Metric(key="odd.key/with-chars", value=specials[i % len(specials)], timestamp=1, step=0))
        if i % 3:
            metrics.append(Metric(key="auc", value=i / 40, timestamp=2, step=i))
        client.log_batch(run_id, metrics=metrics)
        if i % 4:
            client.log_params(run_id, {"model": ("rf", "gbm")[i % 2], "ab": "xy"})  # equal-length strings
        if i % 5 == 0:
            client.set_tag(run_id, "team", f"t{i}")
        client.set_terminated(run_id)
    runs = list(client.search_runs([experiment_id], max_results=1000, order_by=["metrics.auc DESC"]))
    columns = client.search_run_columns([experiment_id], max_results=1000, order_by=["metrics.auc DESC"])
    frame = columns_to_frame(columns)
    assert frame["run_id"].tolist() == [r.info.run_id for r in runs]
    expected = _expected(runs)
    logged = sorted({c for row in expected.values() for c in row})
    assert sorted(c for c in frame.columns if c.startswith(("metrics.", "params.", "tags."))) == logged
    for _, row in frame.iterrows():
        held = expected[row["run_id"]]
        for column in logged:
            value = row[column]
            if column in held:
                assert _same(value, held[column]), (column, value, held[column])
            else:
                assert isinstance(value, float) and math.isnan(value), (column, value)
    assert str(frame["metrics.auc"].dtype) == "float64"
    assert str(frame["start_time"].dtype).startswith("datetime64")
    assert frame.columns[:8].tolist() == [
        "run_id", "experiment_id", "run_name", "status", "user", "artifact_uri", "start_time", "end_time",
    ]  # fmt: skip


def test_from_runs_and_from_the_store_build_the_same_frame(client: Client) -> None:
    experiment_id = client.create_experiment("same")
    for i in range(6):
        run_id = client.create_run(experiment_id).info.run_id
        client.log_batch(run_id, metrics=[Metric(key=f"k{i % 3}", value=float(i), timestamp=1, step=0)])
        client.log_params(run_id, {f"p{i % 2}": str(i)})
    stored = columns_to_frame(client.search_run_columns([experiment_id]))
    listed = columns_to_frame(RunColumns.from_runs(list(client.search_runs([experiment_id]))))
    pd.testing.assert_frame_equal(stored[sorted(stored.columns)], listed[sorted(listed.columns)])


def test_no_runs_is_an_empty_frame_with_the_info_columns(client: Client) -> None:
    experiment_id = client.create_experiment("empty")
    frame = columns_to_frame(client.search_run_columns([experiment_id]))
    assert frame.empty and "run_id" in frame.columns
