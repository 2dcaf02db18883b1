"""Monitor windows computed on Ray store what a local run stores, on a local Ray instance the module
starts once: the window's segments are read by parallel tasks and their accumulations merged."""

from __future__ import annotations

import json
import threading

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from modelyard.cli.app import app as cli_app
from modelyard.domain.monitoring import MonitorResult
from modelyard.errors import InvalidInput
from modelyard.monitoring.ray_windows import split_segments
from tests.monitoring.conftest import DEPLOYMENT, HOUR_MS, T0, Simulation

ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'modelyard[ray]')")

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)]
HOURS = 4


def drifting_log(simulation: Simulation) -> None:
    """Four hours of three segments each (three writers an hour), inputs shifted from hour 2 on, late
    labels for about half the requests."""
    for h in range(HOURS):
        for k in range(3):
            simulation.traffic.hour(
                T0 + h * HOUR_MS + k * 1_000, 300, shift=0.0 if h < 2 else 1.0, per_request=5, prefix=f"w{k}-"
            )
    log = pd.concat(simulation.backend.inference_log.read_window(DEPLOYMENT, T0, T0 + (HOURS + 1) * HOUR_MS))
    first = log[log["row"] == 0].sample(frac=0.5, random_state=1)
    rng = np.random.default_rng(5)
    truth = np.where(rng.random(len(first)) < 0.85, first["prediction"], 1 - first["prediction"])
    simulation.backend.feedback.log_many(zip(first["request_id"], truth.tolist(), strict=True))
    simulation.clock.advance((HOURS + 1) * HOUR_MS)


def comparable(result: MonitorResult) -> dict[str, object]:
    return {
        "window": (result.start_ms, result.end_ms, result.rows),
        "metrics": result.metrics,
        "drift": result.drift,
        "distributions": result.distributions,
        "sample": (result.sampled, result.sample_rows),
    }


def test_a_ray_run_stores_what_a_local_run_stores(local_ray: str, simulation: Simulation) -> None:
    drifting_log(simulation)
    service = simulation.service()
    half = HOUR_MS // 2  # windows end inside the hour-long segments: each task filters its rows by time
    for name in ("here", "on-ray"):
        service.create(name, DEPLOYMENT, simulation.reference_uri, window_ms=half, target="label")
        service.alerts.add_rule(name, "age-drift", "psi(age) > 0.25 for 2 consecutive windows")
    segments = simulation.backend.inference_log.segments(DEPLOYMENT, T0, T0 + half)
    assert len(segments) == 3 and len(split_segments(segments, 2)) == 2  # each window is read by two tasks

    local = service.run("here")
    on_ray = service.run("on-ray", executor="ray")

    assert [r.start_ms for r in on_ray] == [T0 + w * half for w in range(2 * HOURS)]
    assert [comparable(r) for r in on_ray] == [comparable(r) for r in local]  # exact: no window hit the cap
    assert all(r.metrics["labelled_rows"] > 0 and "accuracy" in r.metrics for r in on_ray)
    assert [r.metrics["drifted:age"] for r in on_ray] == [0.0] * 4 + [1.0] * 4
    assert [comparable(r) for r in service.results("on-ray")] == [comparable(r) for r in on_ray]
    fired = {a.monitor: (a.window_start_ms, a.window_end_ms) for a in service.alerts.list()}
    assert fired["on-ray"] == fired["here"] == (T0 + 2 * HOUR_MS, T0 + 3 * HOUR_MS)
    assert service.run("on-ray", executor="ray") == []  # the cursor moved: nothing twice


def test_a_capped_sample_on_ray_keeps_counts_exact_and_finds_the_drift(local_ray: str, simulation: Simulation) -> None:
    drifting_log(simulation)
    service = simulation.service()
    for name in ("here", "on-ray"):
        service.create(name, DEPLOYMENT, simulation.reference_uri, window_ms=HOUR_MS, max_sample_rows=400)
    local = service.run("here")
    on_ray = service.run("on-ray", executor="ray", ray_parts=3)

    exact = ("rows", "requests", "error_rate", "accuracy", "precision", "recall", "f1", "labelled_rows")
    for mine, theirs in zip(on_ray, local, strict=True):
        assert mine.sampled and mine.sample_rows == 400
        assert {k: mine.metrics[k] for k in exact} == {k: theirs.metrics[k] for k in exact}
        assert mine.metrics["drifted:age"] == theirs.metrics["drifted:age"]
        assert mine.metrics["p50_latency_ms"] == pytest.approx(theirs.metrics["p50_latency_ms"], rel=0.5)


def test_following_on_ray_processes_windows_as_they_end(local_ray: str, simulation: Simulation) -> None:
    drifting_log(simulation)
    service = simulation.service()
    service.create("follow", DEPLOYMENT, simulation.reference_uri, window_ms=HOUR_MS)
    stop, seen = threading.Event(), []

    def got(results: list[MonitorResult]) -> None:
        seen.extend(results)
        stop.set()

    service.follow("follow", interval_s=0.01, stop=stop, on_results=got, executor="ray")
    assert [r.rows for r in seen] == [900] * HOURS
    assert ray.is_initialized()  # the module's instance: used, not stopped


def test_what_cannot_run_on_ray_says_why(local_ray: str, simulation: Simulation) -> None:
    service = simulation.service()
    service.create("rows", DEPLOYMENT, simulation.reference_uri, every_rows=100)
    with pytest.raises(InvalidInput, match="only time windows run on Ray"):
        service.run("rows", executor="ray")
    with pytest.raises(InvalidInput, match="executor 'local' or 'ray'"):
        service.run("rows", executor="spark")


def test_cli_runs_a_monitor_on_ray(local_ray: str, simulation: Simulation, monkeypatch: pytest.MonkeyPatch) -> None:
    """In process, so the command uses the module's Ray instance (a new driver would start its workers again)."""
    drifting_log(simulation)
    service = simulation.service()
    service.create("cli", DEPLOYMENT, simulation.reference_uri, window_ms=HOUR_MS, start_ms=T0)
    settings = simulation.backend.settings
    for name, value in {
        "MODELYARD_HOME": str(settings.home),
        "MODELYARD_STORE_URI": settings.store_uri,
        "MODELYARD_ARTIFACT_URI": settings.artifact_uri,
        "MODELYARD_USER": "tester",
    }.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()

    done = runner.invoke(cli_app, ["monitor", "run", "cli", "--executor", "ray", "--ray-address", local_ray, "--json"])

    assert done.exit_code == 0, done.output
    assert [r["rows"] for r in json.loads(done.stdout)] == [900] * HOURS
    assert [r.rows for r in service.results("cli")] == [900] * HOURS
    bad = runner.invoke(cli_app, ["monitor", "run", "cli", "--executor", "spark"])
    assert isinstance(bad.exception, InvalidInput) and "--executor is local or ray" in str(bad.exception)
