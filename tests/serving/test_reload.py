"""Traffic changed through the service reaches a running server, with no failed request and no restart."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from modelyard.config import Settings
from modelyard.domain.serving import VariantMode, VariantSpec
from modelyard.sdk.backends.local import LocalBackend, local_backend
from modelyard.sdk.serving import DeploymentServer, build_app
from modelyard.serving import RunningServer, start_in_thread
from tests.serving._deployed import FEATURES, Constant, classifier, register

MODEL_VERSION = "x-modelyard-model-version"


@dataclass
class Load:
    """A client sending requests back to back on one keep-alive connection, recording every answer."""

    url: str
    answers: list[tuple[int, str | None]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        body = {"records": FEATURES.head(2).to_dict(orient="records")}
        with httpx.Client(base_url=self.url, timeout=10.0) as client:
            while not self.stop.is_set():
                try:
                    response = client.post("/v1/deployments/churn-api/predict", json=body)
                except httpx.HTTPError as exc:
                    self.failures.append(repr(exc))
                    continue
                if response.status_code != 200:
                    self.failures.append(f"{response.status_code}: {response.text}")
                self.answers.append((response.status_code, response.headers.get(MODEL_VERSION)))

    def versions_since(self, start: int) -> list[str | None]:
        return [version for _, version in self.answers[start:]]


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def backend(settings: Settings) -> LocalBackend:
    register(settings, "churn", [classifier(0.0), Constant(1)], champion=1)
    return local_backend(settings)


@pytest.fixture
def running(backend: LocalBackend) -> Iterator[tuple[DeploymentServer, RunningServer]]:
    backend.deployments.deploy(
        "churn-api",
        [VariantSpec(uri="models:/churn@champion"), VariantSpec(uri="models:/churn/2", mode=VariantMode.CANARY)],
    )
    server = build_app(backend, ["churn-api"], reload_interval_s=0.2)
    http = start_in_thread(server.app)
    yield server, http
    http.stop()


@pytest.fixture
def load(running: tuple[DeploymentServer, RunningServer]) -> Iterator[Load]:
    client = Load(url=running[1].url)
    thread = threading.Thread(target=client.run, daemon=True)
    thread.start()
    yield client
    client.stop.set()
    thread.join(15)


def test_traffic_changes_apply_under_load_without_failures(
    backend: LocalBackend, running: tuple[DeploymentServer, RunningServer], load: Load
) -> None:
    server, _ = running
    wait_for(lambda: len(load.answers) >= 100, "the first 100 answers")
    assert set(load.versions_since(0)) == {"churn/1"}  # the canary's weight is 0: it gets nothing

    mark = len(load.answers)
    backend.deployments.set_traffic("churn-api", {"canary": 50})
    wait_for(lambda: "churn/2" in load.versions_since(mark), "the canary to start answering")

    mark = len(load.answers)
    backend.deployments.set_traffic("churn-api", {"canary": 100})
    wait_for(lambda: load.versions_since(len(load.answers) - 50) == ["churn/2"] * 50, "the canary to take everything")

    backend.deployments.promote("churn-api")
    wait_for(lambda: server.reloader.reloads >= 3, "the promotion to be reloaded")
    mark = len(load.answers) + 1  # the one request in flight at the swap finishes on the plan it started with
    wait_for(lambda: len(load.answers) >= mark + 100, "100 answers after the promotion")
    assert set(load.versions_since(mark)) == {"churn/2"}

    backend.deployments.rollback("churn-api")
    wait_for(lambda: server.reloader.reloads >= 4, "the rollback to be reloaded")
    mark = len(load.answers) + 1
    wait_for(lambda: len(load.answers) >= mark + 100, "100 answers after the rollback")
    assert set(load.versions_since(mark)) == {"churn/1"}

    load.stop.set()
    assert load.failures == []
    assert all(status == 200 for status, _ in load.answers)
    counts = {v: load.versions_since(0).count(v) for v in ("churn/1", "churn/2")}
    assert counts["churn/1"] > 0 and counts["churn/2"] > 0


def test_undeploy_and_redeploy_reach_a_running_server(
    backend: LocalBackend, running: tuple[DeploymentServer, RunningServer]
) -> None:
    server, http = running
    url = f"{http.url}/v1/deployments/churn-api/predict"
    body = {"records": FEATURES.head(1).to_dict(orient="records")}
    assert httpx.post(url, json=body).headers[MODEL_VERSION] == "churn/1"

    backend.deployments.undeploy("churn-api")
    wait_for(lambda: httpx.post(url, json=body).status_code == 404, "the undeployed deployment to go")
    assert "churn-api" not in server.holder.current.deployments

    backend.deployments.deploy("churn-api", [VariantSpec(uri="models:/churn/2")])
    wait_for(lambda: httpx.post(url, json=body).status_code == 200, "the deployment to come back")
    assert httpx.post(url, json=body).headers[MODEL_VERSION] == "churn/2"


def test_a_deployment_that_cannot_load_does_not_take_the_others_down(backend: LocalBackend) -> None:
    backend.deployments.deploy("good", [VariantSpec(uri="models:/churn/1")])
    backend.deployments.deploy("broken", [VariantSpec(uri="models:/churn/2")])
    version = backend.model_versions.get("churn", 2)
    shutil.rmtree(version.storage_uri)  # its files lost (a bucket emptied, a disk replaced)
    shutil.rmtree(backend.settings.home / "cache", ignore_errors=True)
    server = build_app(backend, reload_interval_s=0.2)  # before: refused to start at all
    http = start_in_thread(server.app)
    try:
        body = {"records": FEATURES.head(1).to_dict(orient="records")}
        assert httpx.post(f"{http.url}/v1/deployments/good/predict", json=body).status_code == 200
        broken = httpx.post(f"{http.url}/v1/deployments/broken/predict", json=body)
        assert broken.status_code == 503 and "not ready" in broken.json()["message"]
        assert httpx.get(f"{http.url}/v2/models/broken/ready").status_code == 503
        assert httpx.get(f"{http.url}/v2/models/good/ready").status_code == 200
    finally:
        http.stop()
