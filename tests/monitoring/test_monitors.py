"""Monitors over the real inference log: drift fires the alert in time, each window once, labels score the model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

from modelyard.errors import AlreadyExists, InvalidInput
from modelyard.monitoring.monitors import OpenWindow
from modelyard.serving import ServedRequest
from modelyard.serving.inference_log import ParquetRequestLogger
from tests.monitoring.conftest import DEPLOYMENT, HOUR_MS, T0, Simulation


def test_drifting_traffic_fires_the_alert_within_the_configured_windows(simulation: Simulation) -> None:
    service = simulation.service()
    service.create("churn-drift", DEPLOYMENT, simulation.reference_uri, window_ms=HOUR_MS, target="label")
    service.alerts.add_rule("churn-drift", "age-drift", "psi(age) > 0.25 for 2 consecutive windows")
    service.alerts.add_rule("churn-drift", "latency", "p95_latency_ms > 1000")
    for h in range(5):  # two calm hours, then the inputs shift
        simulation.traffic.hour(T0 + h * HOUR_MS, 600, shift=0.0 if h < 2 else 1.0)

    simulation.clock.advance(3 * HOUR_MS)  # hours 0-2 have ended
    first = service.run("churn-drift")
    assert [r.start_ms for r in first] == [T0, T0 + HOUR_MS, T0 + 2 * HOUR_MS]
    assert service.alerts.list() == []  # one drifted window is not yet two
    assert first[2].metrics["drifted:age"] == 1.0 and first[0].metrics["drifted:age"] == 0.0

    simulation.clock.advance(2 * HOUR_MS)
    second = service.run("churn-drift")
    assert [r.start_ms for r in second] == [T0 + 3 * HOUR_MS, T0 + 4 * HOUR_MS]
    [alert] = service.alerts.list()
    assert alert.rule == "age-drift"
    assert (alert.window_start_ms, alert.window_end_ms) == (T0 + 2 * HOUR_MS, T0 + 4 * HOUR_MS)  # fired at hour 3's end
    assert alert.value == pytest.approx(second[0].metrics["psi:age"])
    # the drift persisted for another window: still the one alert
    assert second[1].metrics["psi:age"] > 0.25
    # the model's predictions drifted with the inputs; the other features did not
    assert second[1].metrics["drifted:prediction"] == 1.0
    assert second[1].metrics["drifted:income"] == 0.0
    assert 0 < second[1].metrics["p50_latency_ms"] < second[1].metrics["p99_latency_ms"]


def test_a_window_is_processed_once_and_results_chart_over_time(simulation: Simulation) -> None:
    service = simulation.service()
    service.create("m", DEPLOYMENT, simulation.reference_uri, window_ms=HOUR_MS, start_ms=T0)
    assert service.open_window("m") == OpenWindow(start_ms=None)  # nothing logged yet
    simulation.traffic.hour(T0, 300)
    simulation.traffic.hour(T0 + 3 * HOUR_MS, 300)  # hours 1-2 have no traffic
    simulation.clock.advance(HOUR_MS // 2)
    assert service.run("m") == []  # the first hour is not over
    assert service.open_window("m") == OpenWindow(start_ms=T0, end_ms=T0 + HOUR_MS, rows=300)

    simulation.clock.advance(4 * HOUR_MS)
    results = service.run("m")
    assert [(r.start_ms, r.rows) for r in results] == [(T0, 300), (T0 + 3 * HOUR_MS, 300)]
    assert service.run("m") == []
    stored = service.results("m")
    assert [r.end_ms for r in stored] == [T0 + HOUR_MS, T0 + 4 * HOUR_MS]
    assert stored[0].metrics == results[0].metrics
    assert stored[0].distributions["age"]["kind"] == "numeric"
    assert sum(stored[0].distributions["age"]["current"]) == 300


def test_row_count_windows_and_a_capped_sample(simulation: Simulation) -> None:
    service = simulation.service()
    service.create("every", DEPLOYMENT, simulation.reference_uri, every_rows=400, max_sample_rows=150)
    simulation.traffic.hour(T0, 1000, per_request=10)
    simulation.clock.advance(2 * HOUR_MS)

    results = service.run("every")

    assert [r.rows for r in results] == [400, 400]  # the last 200 rows wait for a full window
    assert T0 <= results[0].start_ms < results[0].end_ms  # the first window starts at its first row, not at 0
    assert all(r.sampled and r.sample_rows == 150 for r in results)
    assert results[0].metrics["requests"] == 40  # counted exactly, not on the sample
    assert results[1].start_ms == results[0].end_ms
    simulation.traffic.hour(T0 + HOUR_MS, 200, per_request=10)
    waiting = service.open_window("every")
    assert waiting.every_rows == 400 and waiting.end_ms is None and waiting.rows >= 200
    [third] = service.run("every")
    assert third.rows == 400


def test_performance_from_late_labels_matches_scikit_learn(simulation: Simulation) -> None:
    service = simulation.service()
    service.create("perf", DEPLOYMENT, simulation.reference_uri, window_ms=HOUR_MS)
    ids = simulation.traffic.hour(T0, 800, per_request=1)
    log = pd.concat(simulation.backend.inference_log.read_window(DEPLOYMENT, T0, T0 + HOUR_MS))
    rng = np.random.default_rng(3)
    labelled = log.sample(frac=0.7, random_state=1)  # labels arrive for 70 % of the requests
    truth = np.where(rng.random(len(labelled)) < 0.8, labelled["prediction"], 1 - labelled["prediction"])
    simulation.backend.feedback.log_many(zip(labelled["request_id"], truth.tolist(), strict=True))
    simulation.clock.advance(2 * HOUR_MS)

    [result] = service.run("perf")

    pred = labelled["prediction"].to_numpy()
    assert len(ids) == 800 and result.metrics["labelled_rows"] == len(labelled)
    assert result.metrics["accuracy"] == pytest.approx(accuracy_score(truth, pred), abs=1e-12)
    assert result.metrics["precision"] == pytest.approx(precision_score(truth, pred), abs=1e-12)
    assert result.metrics["recall"] == pytest.approx(recall_score(truth, pred), abs=1e-12)
    assert result.metrics["f1"] == pytest.approx(f1_score(truth, pred), abs=1e-12)


def test_bad_monitors_are_refused_with_what_was_wrong(simulation: Simulation) -> None:
    service = simulation.service()
    with pytest.raises(InvalidInput, match="exactly one of"):
        service.create("m", DEPLOYMENT, simulation.reference_uri)
    with pytest.raises(InvalidInput, match="no target column 'nope'"):
        service.create("m", DEPLOYMENT, simulation.reference_uri, window_ms=HOUR_MS, target="nope")
    with pytest.raises(InvalidInput, match="unknown drift threshold"):
        service.create("m", DEPLOYMENT, simulation.reference_uri, window_ms=HOUR_MS, thresholds={"psi": 1})
    with pytest.raises(InvalidInput, match="dataset version"):
        service.create("m", DEPLOYMENT, "s3://bucket/train.csv", window_ms=HOUR_MS)
    service.create("m", DEPLOYMENT, simulation.reference_uri, window_ms=HOUR_MS)
    with pytest.raises(AlreadyExists):
        service.create("m", DEPLOYMENT, simulation.reference_uri, window_ms=HOUR_MS)


def _regions(n: int, rng: np.random.Generator, *, new_share: float = 0.0) -> pd.DataFrame:
    """A 35-level categorical (Zipf shares); ``new_share`` of the rows get a level the reference never had."""
    probs = 1.0 / np.arange(1, 36) ** 1.1
    labels = np.array([f"region_{i:02d}" for i in range(35)], dtype=object)
    values = labels[rng.choice(35, n, p=probs / probs.sum())]
    values[rng.random(n) < new_share] = "region_new"
    return pd.DataFrame({"region": values, "amount": rng.normal(100.0, 10.0, n)})


def test_a_new_level_is_flagged_from_the_stored_profile_and_fires_unseen_share(simulation: Simulation) -> None:
    """Issue 20: the reference's profile alone recognises a level it never held (4 % of the window)."""
    rng = np.random.default_rng(20)
    reference = simulation.backend.datasets.log(_regions(40_000, rng), "regions")
    service = simulation.service()
    service.create("regions", DEPLOYMENT, reference.uri, window_ms=HOUR_MS)
    service.alerts.add_rule("regions", "new-region", "unseen_share(region) > 0.02")
    writer = ParquetRequestLogger(simulation.backend.db, simulation.backend.artifact_store, batch_rows=100_000)
    for i in range(200):
        inputs = _regions(100, rng, new_share=0.04)
        writer.record(
            ServedRequest(
                request_id=f"r{i}",
                time_ms=T0 + i * 1_000,
                deployment=DEPLOYMENT,
                variant="primary",
                model_version="regions/1",
                inputs=inputs,
                prediction=(inputs["amount"] > 100).to_numpy().astype(int),
                latency_ms=5.0,
            )
        )
    writer.close()
    simulation.clock.advance(2 * HOUR_MS)

    [result] = service.run("regions")

    assert result.metrics["drifted:region"] == 1.0 and result.metrics["drifted:amount"] == 0.0
    assert result.metrics["unseen_share:region"] == pytest.approx(0.04, abs=0.01)
    assert result.metrics["tvd:region"] < 0.05  # the effect floor alone would not have flagged it
    [alert] = service.alerts.list()
    assert alert.rule == "new-region" and alert.value == result.metrics["unseen_share:region"]
