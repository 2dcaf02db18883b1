"""The real ``mlflow`` client against a real ``modelyard server`` process that requires tokens
(over PostgreSQL), as the README tells a team to run it: ``MLFLOW_TRACKING_URI`` plus
``MLFLOW_TRACKING_TOKEN`` (or ``MLFLOW_TRACKING_USERNAME``/``PASSWORD``). What arrives is recorded
under the token's user, whatever ``user_id`` the client claims; no token is 401 and a viewer's
token cannot write (403), on the MLflow API as on ``/api/v1``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from modelyard.sdk.backends.local import LocalBackend
from tests._mlflow import MLFLOW_MARKS
from tests.server._running import RunningServer

with warnings.catch_warnings():  # mlflow warns about its own type hints while importing
    warnings.simplefilter("ignore")
    import mlflow
    import mlflow.sklearn
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

pytestmark = MLFLOW_MARKS


@pytest.fixture(scope="module")
def tokens(pg_server: RunningServer) -> dict[str, str]:
    """A contributor's and a viewer's token, made on the server's machine as the README says."""
    backend = LocalBackend.open(pg_server.store)
    try:
        backend.identity.create_user("alice", role="contributor")
        backend.identity.create_user("victor", role="viewer")
        _, alice = backend.identity.create_token(user="alice", description="alice laptop")
        _, victor = backend.identity.create_token(user="victor")
    finally:
        backend.db.dispose()
    return {"alice": alice, "victor": victor}


@pytest.fixture
def mlflow_env(pg_server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in (
        "MLFLOW_TRACKING_TOKEN",
        "MLFLOW_TRACKING_USERNAME",
        "MLFLOW_TRACKING_PASSWORD",
        "MLFLOW_EXPERIMENT_ID",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", pg_server.url)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "60")
    import mlflow.tracking.fluent

    mlflow.tracking.fluent._active_experiment_id = None
    mlflow.set_tracking_uri(pg_server.url)
    mlflow.set_registry_uri(pg_server.url)
    try:
        yield
    finally:
        while mlflow.active_run() is not None:
            mlflow.end_run()
        mlflow.set_tracking_uri("")
        mlflow.set_registry_uri("")


def _cli(server: RunningServer, home: Path, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODELYARD_", "MLFLOW_"))}
    env |= {"MODELYARD_HOME": str(home), "MODELYARD_TRACKING_URI": server.url, "MODELYARD_TOKEN": token}
    return subprocess.run(
        [sys.executable, "-m", "modelyard", *args], env=env, capture_output=True, text=True, timeout=180
    )


def test_unmodified_mlflow_code_with_a_token_is_recorded_under_its_user(
    pg_server: RunningServer, tokens: dict[str, str], mlflow_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", tokens["alice"])
    rng = np.random.default_rng(3)
    x = pd.DataFrame({"a": rng.normal(size=50), "b": rng.normal(size=50)})
    model = LogisticRegression().fit(x, (x["a"] > x["b"]).astype(int))
    (tmp_path / "report.txt").write_text("auc 0.91\n")

    mlflow.set_experiment("mlflow-through-server")
    with mlflow.start_run(run_name="rf") as run:
        mlflow.log_params({"C": 0.5})
        for step in range(3):
            mlflow.log_metric("auc", 0.9 + step / 100, step=step)
        mlflow.log_artifact(str(tmp_path / "report.txt"))
        mlflow.sklearn.log_model(model, name="model", registered_model_name="churn-mlflow")
    client = MlflowClient()
    client.set_registered_model_alias("churn-mlflow", "champion", "1")
    loaded = mlflow.sklearn.load_model("models:/churn-mlflow@champion")
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert [m.value for m in client.get_metric_history(run.info.run_id, "auc")] == [0.9, 0.91, 0.92]

    # Ordinary modelyard data, under the token's user, seen by the CLI through the same server.
    runs = json.loads(_cli(pg_server, tmp_path / "cli", tokens["alice"], "runs", "list", "-e", "mlflow-through-server",
                           "--json").stdout)  # fmt: skip
    assert [(r["info"]["run_id"], r["info"]["user"], r["data"]["params"]) for r in runs] == [
        (run.info.run_id, "alice", {"C": "0.5"})
    ]
    backend = LocalBackend.open(pg_server.store)
    try:
        assert backend.runs.get(run.info.run_id).info.user == "alice"
        assert backend.artifacts.read_bytes(run.info.run_id, "report.txt") == b"auc 0.91\n"
        (created,) = backend.audit.search(object_kind="model_version", action="model_version.created")
        assert created.actor == "alice" and created.object_id == "churn-mlflow/1"
        assert {e.actor for e in backend.audit.search(object_id=run.info.run_id)} == {"alice"}
    finally:
        backend.db.dispose()


def test_a_claimed_user_id_is_ignored(pg_server: RunningServer, tokens: dict[str, str], mlflow_env: None) -> None:
    import httpx

    headers = {"authorization": f"Bearer {tokens['alice']}"}
    base = f"{pg_server.url}/api/2.0/mlflow"
    experiment = httpx.post(f"{base}/experiments/create", json={"name": "claims"}, headers=headers).json()
    made = httpx.post(
        f"{base}/runs/create", json={"experiment_id": experiment["experiment_id"], "user_id": "admin"}, headers=headers
    )
    assert made.status_code == 200 and made.json()["run"]["info"]["user_id"] == "alice"


def test_basic_credentials_work_as_mlflow_sends_them(
    pg_server: RunningServer, tokens: dict[str, str], mlflow_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", tokens["alice"])
    experiment = MlflowClient().create_experiment("by-basic")
    run = MlflowClient().create_run(experiment)
    assert run.info.user_id == "alice"


def test_no_token_is_401_and_a_viewer_cannot_write(
    pg_server: RunningServer, tokens: dict[str, str], mlflow_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    for token in (None, "myd_forged_secret"):
        if token:
            monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token)
        with pytest.raises(MlflowException) as refused:
            MlflowClient().search_experiments()
        assert refused.value.error_code == "UNAUTHENTICATED" and refused.value.get_http_status_code() == 401
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", tokens["victor"])
    MlflowClient().search_experiments()  # a viewer reads
    with pytest.raises(MlflowException) as refused:
        MlflowClient().create_experiment("viewer-made")
    assert refused.value.error_code == "PERMISSION_DENIED"
    assert MlflowClient().get_experiment_by_name("viewer-made") is None
