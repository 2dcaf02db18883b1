"""The same code through the real ``mlflow`` client, against ``modelyard server --workers 1`` (its
MLflow-compatible API, with token authentication: the client sends ``MLFLOW_TRACKING_TOKEN``) and
against ``mlflow server --workers 1`` (no authentication), each over a fresh SQLite file and local
artifacts, each server in a process of its own on 127.0.0.1.

Cases (full size; ``--scale`` shrinks them alike; cheap ones report the median of ``--repeats``):

* per-step logging: 500 synchronous ``mlflow.log_metric`` calls (one request each);
* batch logging: 10 ``MlflowClient.log_batch`` calls of 1,000 metrics;
* run creation: 100 fluent runs (start, 3 params, 2 metrics, end: about 5 requests each);
* search: ``mlflow.search_runs`` (a DataFrame) with a filter and an order over those runs;
* artifacts: ``log_artifact`` of 10 files of 1 MiB, then ``download_artifacts`` of the run;
* models: ``mlflow.sklearn.log_model`` with ``registered_model_name``, an alias, and
  ``mlflow.sklearn.load_model("models:/name@alias")``.

Both servers see the same requests from the same client code; only the server differs.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")  # no "View run at" line per run

import httpx
import mlflow
import mlflow.sklearn
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.entities import Metric
from sklearn.linear_model import LogisticRegression

import modelyard as my
from benchmarks._common import Case, Options, median_seconds, timed
from modelyard.config import Settings
from modelyard.sdk.backends.local import LocalBackend

TITLE = "The mlflow client: modelyard's MLflow API vs mlflow server, each over its own SQLite file"
INCUMBENT = f"mlflow server {mlflow.__version__}"
PYTHON = sys.executable

PER_STEP = 500
BATCHES, BATCH_SIZE = 10, 1_000
RUNS = 100
FILES, FILE_BYTES = 10, 1 << 20
MODELS = 3

logging.getLogger("mlflow").setLevel(logging.WARNING)
warnings.filterwarnings("ignore", module=r"mlflow(\.|$)")
warnings.filterwarnings("ignore", category=FutureWarning)


def versions() -> dict[str, Any]:
    return {"modelyard_version": my.__version__, "mlflow_version": mlflow.__version__}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _modelyard_token(root: Path) -> tuple[Settings, str]:
    """The store the modelyard server will open, and a token of its first user (its admin)."""
    settings = Settings(
        home=root, store_uri=f"sqlite:///{root / 'modelyard.db'}", artifact_uri=str(root / "artifacts"), user="bench",
        capture_environment=False,
    )  # fmt: skip
    backend = LocalBackend.open(settings)
    try:
        _, token = backend.identity.create_token(description="bench")
    finally:
        backend.db.dispose()
    return settings, token


def _start(kind: str, root: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PATH": f"{Path(PYTHON).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    if kind == "mlflow":
        command = [
            str(Path(PYTHON).parent / "mlflow"),
            "server",
            "--backend-store-uri",
            f"sqlite:///{root / 'mlflow.db'}",
            "--artifacts-destination",
            str(root / "mlartifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ]
    else:
        settings = Settings(
            home=root, store_uri=f"sqlite:///{root / 'modelyard.db'}", artifact_uri=str(root / "artifacts")
        )
        command = [PYTHON, "-m", "modelyard", "server", "--port", str(port), "--workers", "1"]
        env = {k: v for k, v in env.items() if not k.startswith(("MODELYARD_", "MLFLOW_TRACKING_TOKEN"))}
        env |= {"MODELYARD_HOME": str(root), "MODELYARD_STORE_URI": settings.store_uri,
                "MODELYARD_ARTIFACT_URI": settings.artifact_uri, "MODELYARD_USER": "bench"}  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True, env=env)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(20)


def _auth_header() -> dict[str, str]:
    token = os.environ.get("MLFLOW_TRACKING_TOKEN")
    return {"authorization": f"Bearer {token}"} if token else {}


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {process.stderr.read().decode()[-2000:] if process.stderr else ''}")
        try:
            probe = httpx.get(
                f"{url}/api/2.0/mlflow/experiments/get-by-name",
                params={"experiment_name": "x"},
                headers=_auth_header(),
            )
            if probe.status_code in (200, 404) and "error_code" in probe.text:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"{url} not ready after {timeout:.0f} s")


# -- the workload, written once for both servers -----------------------------------------------


def _per_step(n: int) -> Callable[[], None]:
    def go() -> None:
        with mlflow.start_run():
            for step in range(n):
                mlflow.log_metric("loss", 1.0 / (step + 1), step=step)

    return go


def _batches(client: MlflowClient, experiment_id: str, batches: int) -> Callable[[], None]:
    prepared = [
        [Metric(f"m{j % 10}", float(j), 1_700_000_000_000 + j, b * 100 + j // 10) for j in range(BATCH_SIZE)]
        for b in range(batches)
    ]

    def go() -> None:
        run_id = client.create_run(experiment_id).info.run_id
        for batch in prepared:
            client.log_batch(run_id, metrics=batch)
        client.set_terminated(run_id)

    return go


def _runs(n: int) -> Callable[[], None]:
    rng = random.Random(1)

    def go() -> None:
        for i in range(n):
            with mlflow.start_run():
                mlflow.log_params({"model": ("rf", "gbm", "lr")[i % 3], "depth": i % 10, "lr": 0.1})
                mlflow.log_metrics({"auc": rng.uniform(0.5, 1.0), "loss": rng.random()})

    return go


def _search(experiment_id: str, found: list[int]) -> Callable[[], None]:
    def go() -> None:
        frame = mlflow.search_runs(
            [experiment_id], "metrics.auc > 0.7 and params.model = 'rf'", order_by=["metrics.auc DESC"]
        )
        found.append(len(frame))

    return go


def _artifacts(folder: Path, files: int) -> Callable[[], None]:
    for i in range(files):
        (folder / f"blob-{i}.bin").write_bytes(os.urandom(FILE_BYTES))

    def go() -> None:
        with mlflow.start_run() as run:
            for i in range(files):
                mlflow.log_artifact(str(folder / f"blob-{i}.bin"), artifact_path="blobs")
        with tempfile.TemporaryDirectory() as out:
            mlflow.artifacts.download_artifacts(run_id=run.info.run_id, dst_path=out)
            assert sum(p.stat().st_size for p in Path(out).rglob("*.bin")) == files * FILE_BYTES

    return go


def _models(n: int) -> Callable[[], None]:
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    model = LogisticRegression().fit(x, (x["a"] > 0).astype(int))

    def go() -> None:
        for _ in range(n):
            with mlflow.start_run():
                info = mlflow.sklearn.log_model(model, name="model", registered_model_name="bench")
            MlflowClient().set_registered_model_alias("bench", "champion", info.registered_model_version)
            loaded = mlflow.sklearn.load_model("models:/bench@champion")
            assert (loaded.predict(x) == model.predict(x)).all()

    return go


def _workload(url: str, root: Path, options: Options) -> dict[str, Any]:
    """Every case against the server at ``url``: seconds (median) and the sizes used."""
    mlflow.set_tracking_uri(url)
    mlflow.set_registry_uri(url)
    client = MlflowClient()
    experiment = mlflow.set_experiment("bench")
    _per_step(10)()  # the same warm-up on each side
    repeats = options.repeats
    out: dict[str, Any] = {}
    out["per_step"], _ = median_seconds(_per_step(options.n(PER_STEP, 20)), repeats)
    out["batch"], _ = median_seconds(_batches(client, experiment.experiment_id, options.n(BATCHES, 2)), repeats)
    runs_experiment = mlflow.set_experiment("bench-runs")
    out["runs"] = timed(_runs(options.n(RUNS, 10)))
    found: list[int] = []
    out["search"], _ = median_seconds(_search(runs_experiment.experiment_id, found), repeats)
    out["search_found"] = found[0]
    folder = root / "files"
    folder.mkdir()
    out["artifacts"] = timed(_artifacts(folder, options.n(FILES, 2)))
    out["models"] = timed(_models(options.n(MODELS, 1)))
    mlflow.set_tracking_uri("")
    return out


def _measure(kind: str, root: Path, options: Options) -> dict[str, Any]:
    folder = root / kind
    folder.mkdir()
    os.environ.pop("MLFLOW_TRACKING_TOKEN", None)
    if kind == "modelyard":
        _, token = _modelyard_token(folder)
        os.environ["MLFLOW_TRACKING_TOKEN"] = token  # what the mlflow client sends as a bearer token
    port = _free_port()
    process = _start(kind, folder, port)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_ready(url, process)
        return _workload(url, folder, options)
    finally:
        _stop(process)
        os.environ.pop("MLFLOW_TRACKING_TOKEN", None)


def run(options: Options) -> list[Case]:
    with tempfile.TemporaryDirectory(prefix="modelyard-bench-mlflow-api-") as tmp:
        root = Path(tmp)
        mine = _measure("modelyard", root, options)
        theirs = _measure("mlflow", root, options)
    sizes = {
        "per_step": f"{options.n(PER_STEP, 20)} log_metric calls",
        "batch": f"{options.n(BATCHES, 2)} log_batch calls of {BATCH_SIZE} metrics",
        "runs": f"{options.n(RUNS, 10)} fluent runs",
        "search": f"search_runs over {options.n(RUNS, 10)} runs ({mine['search_found']} found)",
        "artifacts": f"{options.n(FILES, 2)} files of 1 MiB up, then down",
        "models": f"{options.n(MODELS, 1)} x log_model + register + alias + load",
    }
    return [
        Case(
            name=f"{case}: {sizes[case]}",
            unit="s",
            modelyard=mine[case],
            incumbent=theirs[case],
            higher_is_better=False,
            details={"modelyard_s": mine[case], "mlflow_s": theirs[case]},
        )
        for case in sizes
    ]
