"""The retraining hook: a fired alert runs the pipeline its rule names, and the edge alert -> run is recorded."""

from __future__ import annotations

import pytest

from modelyard.config import Settings
from modelyard.pipelines.actions import pipeline_action
from modelyard.sdk.backends.local import local_backend
from tests.monitoring.conftest import DEPLOYMENT, HOUR_MS, T0, Simulation


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_drift_alert_runs_the_retraining_pipeline(
    simulation: Simulation, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELYARD_HOME", str(settings.home))
    monkeypatch.setenv("MODELYARD_STORE_URI", settings.store_uri)
    monkeypatch.setenv("MODELYARD_ARTIFACT_URI", settings.artifact_uri)
    monkeypatch.setenv("MODELYARD_USER", settings.user)  # the pipeline runs as the store's creator, not the OS user
    service = simulation.service(action_runner=pipeline_action)
    service.create("m", DEPLOYMENT, simulation.reference_uri, window_ms=HOUR_MS)
    service.alerts.add_rule(
        "m",
        "retrain",
        "share_drifted > 0.3",
        action={"run_pipeline": "tests.pipelines.flows:training", "params": {"rows": 120}},
    )
    simulation.traffic.hour(T0, 300, shift=1.5)
    simulation.clock.advance(2 * HOUR_MS)

    service.run("m")

    [alert] = service.alerts.list()
    assert alert.action_result is not None and alert.action_result["status"] == "done", alert.action_result
    assert alert.action_result["pipeline_status"] == "FINISHED"
    run = local_backend(settings).runs.get(alert.action_result["pipeline_run_id"])
    assert run.data.tags["modelyard.alert.id"] == alert.id
