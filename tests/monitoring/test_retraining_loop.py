"""The retraining loop end to end, on a real server with real HTTP traffic.

A champion trained on the reference data serves a deployment; the world changes (new labelled
data is logged, shifted traffic arrives); the monitor's drift alert runs the retraining pipeline
on the newest data; the gate blesses the retrained model against the champion on the new data;
``deploy_canary`` sends it to serving as a canary; the server's canary watcher promotes it once its
SLO window passes. Then the chain alert -> pipeline run -> model version -> deployment is read back
from the alert, the run's tags, lineage and the audit trail.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

import httpx
import pandas as pd
import pytest

from modelyard.config import Settings
from modelyard.domain.lineage import NodeKind, NodeRef, Relation
from modelyard.domain.serving import EventKind, VariantSpec
from modelyard.pipelines.actions import pipeline_action
from modelyard.sdk.client import Client
from modelyard.sdk.monitoring import monitoring
from modelyard.sdk.serving import DeploymentServer, build_app
from modelyard.serving.runner import start_in_thread
from tests.monitoring.retrain_flows import CANARY_SLO, FEATURES, first_training, world

DATA = "fraud-labelled"
MODEL = "fraud"
DEPLOYMENT = "fraud-api"
MONITOR = "fraud-drift"
WINDOW = 300  # rows per monitor window
PER_REQUEST = 10


def _send(http: httpx.Client, frame: pd.DataFrame) -> Counter[str]:
    """POST ``frame`` in requests of ``PER_REQUEST`` rows; which model version answered how often."""
    answered: Counter[str] = Counter()
    records = frame[list(FEATURES)].to_dict(orient="records")
    for start in range(0, len(records), PER_REQUEST):
        response = http.post(f"/v1/deployments/{DEPLOYMENT}/predict", json=records[start : start + PER_REQUEST])
        assert response.status_code == 200, response.text
        answered[response.headers["x-modelyard-model-version"]] += 1
    return answered


def _wait(what: str, done: Callable[[], bool], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s:.0f} s")
        time.sleep(0.05)


def _flush(server: DeploymentServer) -> None:
    """Write what the server's inference log queued (a request is queued before its answer is sent)."""
    log = server.inference_log
    assert log is not None
    log.flush(timeout=30)


def _serving(server: DeploymentServer) -> list[str]:
    """The model versions the running server answers with (after its latest reload)."""
    return [v.model_version for v in server.holder.current.get(DEPLOYMENT).serving]


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_drift_alert_retrains_and_the_canary_is_promoted(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings.model_copy(update={"inference_log_flush_interval_s": 0.1})
    for variable, value in {
        "MODELYARD_HOME": str(settings.home),
        "MODELYARD_STORE_URI": settings.store_uri,
        "MODELYARD_ARTIFACT_URI": settings.artifact_uri,
        "MODELYARD_USER": settings.user,
        "MODELYARD_CAPTURE_ENVIRONMENT": "false",
    }.items():  # the alert's action runs the pipeline with a Client() built from the environment
        monkeypatch.setenv(variable, value)
    client = Client(settings)
    backend = client.backend

    # The champion: trained by a pipeline on the reference data, which the monitor compares with.
    reference = backend.datasets.log(world(2_000, 1, shifted=False), DATA, user=settings.user)
    first_training.run({"data": reference.uri, "model_name": MODEL}, client=client).check()
    client.registry.set_registered_model_alias(MODEL, "champion", 1)
    backend.deployments.deploy(DEPLOYMENT, [VariantSpec(uri=f"models:/{MODEL}@champion")])
    monitors = monitoring(backend, action_runner=pipeline_action)
    monitors.create(MONITOR, DEPLOYMENT, reference.uri, every_rows=WINDOW, target="label")
    monitors.alerts.add_rule(
        MONITOR,
        "retrain-on-drift",
        "share_drifted > 0.3",
        action={
            "run_pipeline": "tests.monitoring.retrain_flows:retrain",
            "params": {"data": f"datasets:/{DATA}@latest", "model_name": MODEL, "deployment": DEPLOYMENT},
        },
    )

    server = build_app(backend, [DEPLOYMENT], reload_interval_s=0.2, watch_interval_s=0.2)
    running = start_in_thread(server.app)
    try:
        with httpx.Client(base_url=running.url, timeout=30) as http:
            # Normal traffic: one window, no drift, no alert.
            assert _send(http, world(WINDOW, 2, shifted=False)) == {f"{MODEL}/1": WINDOW // PER_REQUEST}
            _flush(server)
            [calm] = monitors.run(MONITOR)
            assert calm.metrics["share_drifted"] <= 0.3 and monitors.alerts.list() == []

            # The world changes: new labelled data is logged, then shifted traffic arrives.
            shifted = backend.datasets.log(world(2_000, 3, shifted=True), DATA, user=settings.user)
            _send(http, world(WINDOW, 4, shifted=True))
            _flush(server)
            [drifted] = monitors.run(MONITOR)  # fires the alert, whose action runs the retraining
            assert drifted.metrics["share_drifted"] > 0.3

            [alert] = monitors.alerts.list()
            result = alert.action_result
            assert result is not None and result["status"] == "done", result
            assert result["pipeline_status"] == "FINISHED"
            assert result["params"]["data"] == shifted.uri  # @latest became the newest version
            pipeline_run_id = result["pipeline_run_id"]

            canary = backend.deployments.get(DEPLOYMENT)
            [variant] = canary.canaries
            assert variant.uri == f"models:/{MODEL}/2" and canary.slo == CANARY_SLO
            assert client.registry.get_model_version(MODEL, 2).tags["modelyard.gate.blessed"] == "true"

            # More traffic: the canary keeps its SLO and the watcher promotes it after the window.
            seed = 5
            while backend.deployments.get(DEPLOYMENT).canaries:
                _send(http, world(100, seed, shifted=True))
                seed += 1
                assert seed < 200, "the canary watcher did not decide"
            _wait("the server following the promotion", lambda: _serving(server) == [f"{MODEL}/2"])
            assert _send(http, world(50, 999, shifted=True)) == {f"{MODEL}/2": 5}
    finally:
        running.stop()

    promoted = backend.deployments.get(DEPLOYMENT)
    assert promoted.primary is not None and promoted.primary.uri == f"models:/{MODEL}/2"
    history = backend.deployments.history(DEPLOYMENT)
    assert [e.kind for e in history] == [EventKind.DEPLOYED, EventKind.DEPLOYED, EventKind.AUTO_PROMOTED]
    handed_over, decided = history[1], history[2]
    assert handed_over.details.pipeline_run_id == pipeline_run_id
    assert handed_over.details.model == f"models:/{MODEL}/2"
    assert handed_over.actor == settings.user
    assert decided.details.figures is not None and decided.details.figures["requests"] >= CANARY_SLO.min_requests
    assert decided.details.figures["errors"] == 0

    # alert -> pipeline run: the run is tagged with the alert, and the alert's action is audited.
    run = backend.runs.get(pipeline_run_id)
    assert run.data.tags["modelyard.alert.id"] == alert.id
    [action_event] = backend.audit.search(object_kind="alert", object_id=alert.id, action="alert.action")
    assert action_event.details["pipeline_run_id"] == pipeline_run_id

    # dataset version -> pipeline run -> model version -> deployment, walked from the model version.
    graph = backend.lineage.graph(NodeRef(kind=NodeKind.MODEL_VERSION, id=f"{MODEL}/2"))
    upstream = {e.source for e in graph.upstream}
    assert NodeRef(kind=NodeKind.DATASET_VERSION, id=shifted.node_id) in upstream
    assert NodeRef(kind=NodeKind.RUN, id=pipeline_run_id) in upstream
    assert NodeRef(kind=NodeKind.DATASET_VERSION, id=reference.node_id) not in upstream
    deployed = [e for e in graph.downstream if e.relation is Relation.DEPLOYED]
    assert {e.target for e in deployed} == {NodeRef(kind=NodeKind.DEPLOYMENT, id=DEPLOYMENT)}

    # The audit trail has every deployment change, the pipeline's hand-over among them.
    changes = backend.audit.search(object_kind="deployment", object_id=DEPLOYMENT)
    assert [e.action for e in changes] == ["deployment.deployed", "deployment.deployed", "deployment.auto_promoted"]
    assert changes[1].details["pipeline_run_id"] == pipeline_run_id
    assert backend.audit.verify().ok
