"""A store that looks like a team's: runs with histories and artifacts, a dataset, two versions of a
model, a pending Production request, a deployment with a canary; users of every role."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sklearn.linear_model import LogisticRegression

import modelyard as my
from modelyard.config import Settings
from modelyard.domain.governance import ApprovalPolicy
from modelyard.domain.serving import VariantMode, VariantSpec
from modelyard.errors import Conflict
from modelyard.sdk.backends.local import LocalBackend
from modelyard.serving.deployments import DeploymentService
from modelyard.ui import create_ui_app
from tests._subprocess import stop_group
from tests.ui._browser import start_ui

ADMIN, APPROVER, REQUESTER, VIEWER = "alice", "bob", "carol", "dave"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "ui"


@dataclass
class World:
    settings: Settings
    request_id: int
    run_ids: list[str]
    deployment: str = "churn-api"

    def settings_for(self, user: str) -> Settings:
        return Settings(home=self.settings.home, user=user, capture_environment=False)

    def backend(self, user: str) -> LocalBackend:
        return LocalBackend.open(self.settings_for(user))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    home = tmp_path_factory.mktemp("ui-home")
    admin = Settings(home=home, user=ADMIN, capture_environment=False)
    LocalBackend.open(admin).identity.create_user(APPROVER, role="approver")
    backend = LocalBackend.open(admin)
    backend.identity.create_user(REQUESTER, role="contributor")
    backend.identity.create_user(VIEWER, role="viewer")

    my.configure(home=home, user=REQUESTER, capture_environment=False)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(400, 3)), columns=["a", "b", "c"]).assign(segment=["x", "y"] * 200)
    target = (frame["a"] + 0.3 * frame["b"] > 0).astype(int)
    features = frame[["a", "b", "c"]]
    my.set_experiment("churn")
    run_ids = []
    for c in (0.05, 0.5, 5.0):
        with my.start_run(run_name=f"lr-C{c}") as run:
            my.log_dataset(frame.assign(y=target), "churn-train", role="train")
            my.log_params({"C": c, "model": "logreg"})
            for step in range(30):
                my.log_metric("loss", 1 / (step + 1) + c / 10, step=step)
            my.log_metrics({"auc": 0.8 + c / 100, "f1": 0.7})
            my.log_dict({"features": ["a", "b", "c"]}, "features.json")
            my.log_text("trained on churn-train\n", "notes.txt")
            frame.head(20).to_csv(home / "sample.csv", index=False)
            my.log_artifact(str(home / "sample.csv"), artifact_path="data")
            model = LogisticRegression(C=c).fit(features, target)
            my.log_model(model, "model", input_example=features.head(5))
            my.register_model(f"runs:/{run.info.run_id}/model", "churn")
            run_ids.append(run.info.run_id)
    my.log_dataset(frame.assign(y=target, a=frame["a"] + 1.0), "churn-train")  # a shifted second version
    my.end_run()

    backend.approvals.set_policy(ApprovalPolicy(model_name="churn", stages=("Production",)))
    requester = LocalBackend.open(Settings(home=home, user=REQUESTER, capture_environment=False))
    try:  # Production needs an approval by the default policy: the move becomes a pending request
        requester.stages.transition("churn", 2, "Production", reason="best auc on the holdout")
    except Conflict:
        pass
    request_id = _pending_id(requester)
    deployments = DeploymentService(requester.db, actor=REQUESTER)
    deployments.deploy(
        "churn-api",
        [VariantSpec(uri="models:/churn/1"), VariantSpec(uri="models:/churn/3", mode=VariantMode.CANARY, weight=10)],
    )
    return World(settings=admin, request_id=request_id, run_ids=run_ids)


def _pending_id(backend: LocalBackend) -> int:
    return max(r.id for r in backend.approvals.list(status="pending"))


@pytest.fixture
def client_as(world: World) -> Iterator[object]:
    """``client_as(user)``: the UI app over the world's store, acting as ``user`` (no login)."""
    clients: list[TestClient] = []

    def make(user: str) -> TestClient:
        settings = world.settings_for(user)
        client = TestClient(create_ui_app(settings, LocalBackend.open(settings)))
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.close()


@pytest.fixture
def ui_server(world: World) -> Iterator[object]:
    """``ui_server(user)``: the real ``modelyard ui`` command, as ``user``; returns its base URL."""
    started: list[subprocess.Popen[str]] = []
    yield lambda user: start_ui(world.settings_for(user), user, started)
    for proc in started:
        stop_group(proc)


def load_json(path: Path) -> object:
    return json.loads(path.read_text())
