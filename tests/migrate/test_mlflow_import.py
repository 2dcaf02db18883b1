"""``modelyard import mlflow`` on a store written by the real mlflow library (SQLite tracking
URI, local artifacts), checked through modelyard's own services, then imported again."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import mlflow
import mlflow.sklearn
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression

from modelyard.config import Settings
from modelyard.errors import NotFound
from modelyard.migrate import import_mlflow
from modelyard.sdk.backends.local import LocalBackend
from tests._cli import run_modelyard
from tests._mlflow import MLFLOW_MARKS
from tests._subprocess import free_port, stop_group

pytestmark = [
    *MLFLOW_MARKS,
    pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SADeprecationWarning"),  # mlflow's SQL store
]


def _write_mlflow_store(root: Path) -> str:
    """An MLflow store as users have them: runs with history, artifacts, a registered model."""
    uri = f"sqlite:///{root / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    experiment_id = MlflowClient().create_experiment("churn", artifact_location=(root / "mlruns").as_uri())
    mlflow.set_experiment(experiment_id=experiment_id)
    rng = np.random.default_rng(1)
    x = pd.DataFrame({"a": rng.normal(size=40), "b": rng.normal(size=40)})
    y = (x["a"] > 0).astype(int).to_numpy()
    (root / "notes.txt").write_text("hello")
    with mlflow.start_run(run_name="trained") as run:
        mlflow.log_params({"C": 0.5, "solver": "lbfgs"})
        mlflow.set_tag("team", "risk")
        for step in range(12):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.log_metric("weird", math.nan)
        mlflow.log_artifact(str(root / "notes.txt"), artifact_path="docs")
        info = mlflow.sklearn.log_model(LogisticRegression().fit(x, y), name="model", registered_model_name="churn")
        with mlflow.start_run(run_name="child", nested=True):
            mlflow.log_metric("m", 2.0)
    client = MlflowClient()
    client.set_registered_model_alias("churn", "champion", "1")
    client.set_model_version_tag("churn", "1", "validated", "true")
    client.transition_model_version_stage("churn", "1", "Staging")
    with mlflow.start_run(run_name="failed") as failed:
        mlflow.log_param("p", 1)
    client.set_terminated(failed.info.run_id, "FAILED")
    mlflow.set_tracking_uri("")
    assert info.model_id.startswith("m-") and info.run_id == run.info.run_id
    return uri


def _modelyard(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MODELYARD_HOME": str(home), "MODELYARD_CAPTURE_ENVIRONMENT": "false"}
    return run_modelyard(args, env=env, timeout=600)


def test_import_round_trips_a_real_mlflow_store_and_is_idempotent(tmp_path: Path) -> None:
    source = tmp_path / "mlflow"
    source.mkdir()
    uri = _write_mlflow_store(source)
    home = tmp_path / "home"

    first = _modelyard(home, "import", "mlflow", "--from", uri, "--json")
    assert first.returncode == 0, first.stderr
    counts = json.loads(first.stdout)
    assert counts["runs"] == 3 and counts["experiments"] == 1
    assert counts["metric_values"] == 12 + 1 + 1 + 0
    assert counts["logged_models"] == 1 and counts["registered_models"] == 1
    assert counts["model_versions"] == 1 and counts["aliases"] == 1 and counts["stages"] == 1
    assert counts["skipped"] == []

    backend = LocalBackend.open(Settings(home=home, capture_environment=False))
    try:
        experiment = backend.experiments.get_by_name("churn")
        assert experiment is not None
        runs = backend.search.search([experiment.experiment_id], order_by=["attributes.start_time ASC"])
        by_name = {r.info.run_name: r for r in runs}
        trained = by_name["trained"]
        assert trained.data.params == {"C": "0.5", "solver": "lbfgs"} and trained.data.tags["team"] == "risk"
        assert trained.info.status.value == "FINISHED" and by_name["failed"].info.status.value == "FAILED"
        history = backend.metrics.history(trained.info.run_id, "loss")
        assert [(m.step, m.value) for m in history] == [(s, 1.0 / (s + 1)) for s in range(12)]
        assert math.isnan(trained.data.metrics["weird"])
        assert by_name["child"].info.parent_run_id == trained.info.run_id
        assert backend.artifacts.read_bytes(trained.info.run_id, "docs/notes.txt") == b"hello"

        champion = backend.aliases.get_version("churn", "champion")
        assert champion.version == 1 and champion.stage.value == "Staging" and champion.tags["validated"] == "true"
        logged = backend.logged_models.get(champion.model_id)
        assert logged.run_id == trained.info.run_id and logged.flavor == "mlflow.sklearn"
        model_files = {f.path for f in backend.artifacts.list(trained.info.run_id, "model")}
        assert "model/MLmodel" in model_files
    finally:
        backend.db.dispose()

    second = _modelyard(home, "import", "mlflow", "--from", uri, "--json")
    assert second.returncode == 0, second.stderr
    again = json.loads(second.stdout)
    assert {k: v for k, v in again.items() if k != "skipped"} == dict.fromkeys(again.keys() - {"skipped"}, 0)

    table = _modelyard(home, "runs", "list", "--experiment", "churn")
    assert table.returncode == 0 and "trained" in table.stdout


def test_import_of_a_file_store_and_of_missing_stores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # mlflow 3 writes file stores only when told to
    mlflow.set_tracking_uri((tmp_path / "mlruns").as_uri())
    mlflow.set_experiment("filestore")
    with mlflow.start_run(run_name="fs"):
        mlflow.log_param("a", 1)
        for step in range(3):
            mlflow.log_metric("m", float(step), step=step)
        mlflow.log_dict({"x": 1}, "d.json")
    mlflow.set_tracking_uri("")

    backend = LocalBackend.open(Settings(home=tmp_path / "home", capture_environment=False))
    try:
        summary = import_mlflow(backend, str(tmp_path / "mlruns"))
        assert (summary.runs, summary.params, summary.metric_values, summary.artifact_files) == (1, 1, 3, 1)
        experiment = backend.experiments.get_by_name("filestore")
        assert experiment is not None
        (run,) = backend.search.search([experiment.experiment_id])
        assert backend.artifacts.read_bytes(run.info.run_id, "d.json") == b'{\n  "x": 1\n}'
        assert import_mlflow(backend, str(tmp_path / "mlruns")).counts() == dict.fromkeys(summary.counts(), 0)
        with pytest.raises(NotFound, match="no MLflow store"):
            import_mlflow(backend, str(tmp_path / "nowhere"))
        with pytest.raises(NotFound, match="no MLflow store"):
            import_mlflow(backend, f"sqlite:///{tmp_path / 'missing.db'}")
        assert not (tmp_path / "missing.db").exists()
    finally:
        backend.db.dispose()


@pytest.fixture
def mlflow_tracking_server(tmp_path: Path) -> Iterator[str]:
    """A real ``mlflow server`` on 127.0.0.1 over SQLite, serving its artifacts itself
    (``mlflow-artifacts:``), as a team runs it: the store an import reads through its URL."""
    port = free_port()
    folder = tmp_path / "mlflow-server"
    folder.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
         "--artifacts-destination", str(folder / "mlartifacts"), "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mlflow server did not start (exit code {process.poll()})")
            time.sleep(0.2)
        yield url
    finally:
        stop_group(process)


def test_import_through_an_mlflow_tracking_server_url(mlflow_tracking_server: str, tmp_path: Path) -> None:
    url = mlflow_tracking_server
    mlflow.set_tracking_uri(url)
    mlflow.set_registry_uri(url)
    rng = np.random.default_rng(4)
    x = pd.DataFrame({"a": rng.normal(size=40), "b": rng.normal(size=40)})
    model = LogisticRegression().fit(x, (x["a"] > x["b"]).astype(int))
    try:
        mlflow.set_experiment("served")
        with mlflow.start_run(run_name="remote") as run:
            mlflow.log_param("C", 1.0)
            for step in range(5):
                mlflow.log_metric("auc", 0.8 + step / 100, step=step)
            mlflow.log_dict({"k": "v"}, "conf/params.json")
            mlflow.sklearn.log_model(model, name="model", registered_model_name="served-model")
        MlflowClient().set_registered_model_alias("served-model", "prod", "1")
        assert run.info.artifact_uri.startswith("mlflow-artifacts:")  # artifacts only reachable through the server
    finally:
        mlflow.set_tracking_uri("")
        mlflow.set_registry_uri("")

    home = tmp_path / "home"
    done = _modelyard(home, "import", "mlflow", "--from", url)
    assert done.returncode == 0, done.stderr
    assert "runs" in done.stderr and "Imported from" in done.stdout  # the progress bar, then the table
    summary = dict(re.findall(r"│ (\w[\w ]*?) +│ +(\d+) │", done.stdout))
    assert summary["runs"] == "1" and summary["metric values"] == "5" and summary["model versions"] == "1", (
        done.stdout,
        done.stderr[-3000:],
    )

    backend = LocalBackend.open(Settings(home=home, capture_environment=False))
    try:
        experiment = backend.experiments.get_by_name("served")
        assert experiment is not None
        (imported,) = backend.search.search([experiment.experiment_id])
        assert [m.value for m in backend.metrics.history(imported.info.run_id, "auc")] == [
            0.8 + s / 100 for s in range(5)
        ]
        assert backend.artifacts.read_bytes(imported.info.run_id, "conf/params.json").startswith(b"{")
        champion = backend.model_resolver.load("models:/served-model@prod")
        np.testing.assert_array_equal(champion.predict(x), model.predict(x))
    finally:
        backend.db.dispose()
    again = _modelyard(home, "import", "mlflow", "--from", url, "--json")
    assert again.returncode == 0 and json.loads(again.stdout)["runs"] == 0
