"""Team server: ``modelyard server`` vs ``mlflow server``, each over its own SQLite file, each
started in its own process, the client in this process talking HTTP over loopback with keep-alive.
modelyard runs one worker; mlflow runs twice, with ``--workers 1`` and with its default options (4
uvicorn workers, whose accepted connections lose ``TCP_NODELAY``: what a team gets from
``mlflow server`` as documented).

Cases (full size; ``--scale`` shrinks all of them alike):

* per-step logging: 10,000 fluent ``log_metric`` calls in one run until ``end_run`` returned
  (modelyard's client buffers and sends batches; mlflow's sends one request per call), then the
  history is read back and must hold every value;
* batch logging: 10 ``log_batch`` calls of 1,000 metrics;
* run creation: 200 fluent runs (start, 3 params, 2 metrics, end);
* search: ``search_runs`` with a filter and an order over 10,000 runs at any ``--scale`` (filled in
  bulk into each server's store before it starts, as in the tracking suite), up to 1,000 results;
* one ``GET`` of a run, median latency over keep-alive (modelyard with a bearer token), and the
  latency token authentication adds (the same server with ``--auth none``), and the CPU time one
  token verification costs (in process, which a busy machine does not inflate).
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")  # no "View run at" line per run

import httpx
import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric as MlflowMetric

import modelyard as my
from benchmarks._common import Case, Options, median_seconds, timed
from benchmarks.tracking import (
    SEARCH_FILTER,
    SEARCH_MAX,
    SEARCH_ORDER,
    _batch,
    _fluent_runs,
    _log_batches,
    _step_loop,
    fill_mlflow_runs,
    fill_modelyard_runs,
)
from modelyard.config import Settings
from modelyard.domain.tracking import Metric
from modelyard.sdk.backends.local import LocalBackend

TITLE = "Team server: modelyard server (one worker) vs mlflow server (--workers 1 / default options), SQLite"
INCUMBENT = f"mlflow server {mlflow.__version__}"

PER_STEP_METRICS = 10_000
BATCHES = 10
RUNS = 200
SEARCH_RUNS = 10_000
GETS = 500
AUTH_CALLS = 2_000


def versions() -> dict[str, Any]:
    return {"modelyard_version": my.__version__, "mlflow_version": mlflow.__version__}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready after {timeout:g} s: {log.read_text()[-2000:]}")


@contextmanager
def _process(argv: list[str], env: dict[str, str], ready: str, log: Path) -> Iterator[None]:
    with open(log, "wb") as out:
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait(ready, process, log)
        yield
    finally:
        os.killpg(process.pid, 15)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()


def _base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("MODELYARD_", "MLFLOW_TRACKING"))}


@contextmanager
def _modelyard_server(folder: Path, n_search: int, *, auth: str = "token") -> Iterator[tuple[str, str, str]]:
    """A server over a fresh store holding ``n_search`` runs; yields (url, token, search experiment id)."""
    settings = Settings(
        home=folder, store_uri=f"sqlite:///{folder / 'store.db'}", artifact_uri=str(folder / "artifacts"), user="bench"
    )
    backend = LocalBackend.open(settings)
    try:
        _, token = backend.identity.create_token(description="bench")
        found = backend.experiments.get_by_name("search")
        experiment = found.experiment_id if found else backend.experiments.create("search")
        if found is None:
            fill_modelyard_runs(backend, experiment, n_search)
    finally:
        backend.db.dispose()
    port = _free_port()
    env = {
        **_base_env(),
        "MODELYARD_HOME": str(folder),
        "MODELYARD_STORE_URI": settings.store_uri,
        "MODELYARD_ARTIFACT_URI": settings.artifact_uri,
        "MODELYARD_USER": "bench",
    }
    argv = [sys.executable, "-m", "modelyard", "server", "--port", str(port), "--workers", "1", "--auth", auth]
    url = f"http://127.0.0.1:{port}"
    with _process(argv, env, f"{url}/api/v1/health", folder / f"server-{auth}.log"):
        yield url, token, experiment


@contextmanager
def _mlflow_server(folder: Path, n_search: int, workers: int | None) -> Iterator[tuple[str, str]]:
    """``mlflow server`` over a fresh store holding ``n_search`` runs, with ``--workers N`` or, for
    ``None``, its default options."""
    from mlflow.tracking._tracking_service.utils import _get_store

    folder.mkdir(parents=True, exist_ok=True)
    db = f"sqlite:///{folder / 'mlflow.db'}"
    mlflow.set_tracking_uri(db)
    experiment = MlflowClient().create_experiment("search", artifact_location=str(folder / "artifacts"))
    fill_mlflow_runs(_get_store(), str(folder / "artifacts"), experiment, n_search)
    port = _free_port()
    argv = [
        sys.executable, "-m", "mlflow", "server", "--backend-store-uri", db,
        "--artifacts-destination", str(folder / "mlartifacts"), "--host", "127.0.0.1", "--port", str(port),
        *(["--workers", str(workers)] if workers is not None else []),
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    with _process(argv, _base_env(), f"{url}/health", folder / "server.log"):
        mlflow.set_tracking_uri(url)
        yield url, experiment


def _latency_ms(url: str, headers: dict[str, str], n: int) -> float:
    with httpx.Client(headers=headers) as client:
        for _ in range(20):
            client.get(url).raise_for_status()
        times = []
        for _ in range(n):
            start = time.perf_counter()
            client.get(url).raise_for_status()
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def _search(client: Any, experiment: str, repeats: int) -> tuple[float, int]:
    found: list[int] = []
    median, _ = median_seconds(
        lambda: found.append(
            len(client.search_runs([experiment], SEARCH_FILTER, max_results=SEARCH_MAX, order_by=SEARCH_ORDER))
        ),
        repeats,
    )
    return median, found[0]


def _modelyard_side(root: Path, o: Options, n_steps: int, n_runs: int, n_search: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    folder = root / "modelyard"
    with _modelyard_server(folder, n_search) as (url, token, search_experiment):
        my.configure(home=root / "modelyard-client", tracking_uri=url, token=token, capture_environment=False)
        experiment = my.set_experiment("bench").experiment_id
        run_id = my.start_run().info.run_id
        out["per_step"] = timed(_step_loop(my, n_steps))
        out["per_step_stored"] = len(my.client().get_metric_history(run_id, "loss"))
        prepared = [[Metric(key=k, value=v, step=s, timestamp=1_700_000_000_000 + s) for k, v, s in _batch(b)]
                    for b in range(o.n(BATCHES, 1))]  # fmt: skip
        out["batch"], _ = _log_batches(my.client(), experiment, prepared, o.repeats)
        out["runs"] = timed(_fluent_runs(my, n_runs))
        out["search"], out["search_found"] = _search(my.client(), search_experiment, o.repeats)
        get_url = f"{url}/api/v1/runs/{run_id}"
        out["get_token_ms"] = _latency_ms(get_url, {"authorization": f"Bearer {token}"}, o.n(GETS, 50))
    with _modelyard_server(folder, n_search, auth="none") as (url, _, _):
        out["get_none_ms"] = _latency_ms(f"{url}/api/v1/runs/{run_id}", {}, o.n(GETS, 50))
    out["auth_cpu_ms"] = _auth_cpu_ms(folder, o.n(AUTH_CALLS, 200))
    return out


def _auth_cpu_ms(folder: Path, n: int) -> float:
    """CPU milliseconds one token verification costs the server (in this process, on the same
    store: a read of the token by its id, its user and roles, and a SHA-256 compare). CPU time,
    not wall time, so a machine busy with other work does not inflate it."""
    store = f"sqlite:///{folder / 'store.db'}"
    settings = Settings(home=folder, store_uri=store, artifact_uri=str(folder / "artifacts"), user="bench")
    backend = LocalBackend.open(settings)
    try:
        _, token = backend.identity.create_token(description="bench-cpu")
        for _ in range(50):
            backend.identity.authenticate(token)
        start = time.process_time()
        for _ in range(n):
            backend.identity.authenticate(token)
        return (time.process_time() - start) / n * 1000
    finally:
        backend.db.dispose()


def _mlflow_side(
    root: Path, o: Options, n_steps: int, n_runs: int, n_search: int, workers: int | None
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    folder = root / ("mlflow-default" if workers is None else f"mlflow-workers-{workers}")
    with _mlflow_server(folder, n_search, workers) as (url, search_experiment):
        experiment = mlflow.set_experiment("bench").experiment_id
        run_id = mlflow.start_run().info.run_id
        out["per_step"] = timed(_step_loop(mlflow, n_steps))
        out["per_step_stored"] = len(MlflowClient().get_metric_history(run_id, "loss"))
        prepared = [[MlflowMetric(key=k, value=v, timestamp=1_700_000_000_000 + s, step=s) for k, v, s in _batch(b)]
                    for b in range(o.n(BATCHES, 1))]  # fmt: skip
        out["batch"], _ = _log_batches(MlflowClient(), experiment, prepared, o.repeats)
        out["runs"] = timed(_fluent_runs(mlflow, n_runs))
        out["search"], out["search_found"] = _search(MlflowClient(), search_experiment, o.repeats)
        out["get_ms"] = _latency_ms(f"{url}/api/2.0/mlflow/runs/get?run_id={run_id}", {}, o.n(GETS, 50))
    return out


MLFLOW_CONFIGS: dict[str, int | None] = {"mlflow --workers 1": 1, "mlflow defaults": None}


def _cases(
    m: dict[str, Any], f: dict[str, Any], label: str, n_steps: int, n_metrics: int, n_runs: int, n_search: int
) -> list[Case]:
    return [
        Case(name=f"per-step log_metric x{n_steps:,} ({label})", unit="metrics/s", modelyard=n_steps / m["per_step"],
             incumbent=n_steps / f["per_step"], higher_is_better=True),
        Case(name=f"log_batch {n_metrics:,} metrics ({label})", unit="metrics/s", modelyard=n_metrics / m["batch"],
             incumbent=n_metrics / f["batch"], higher_is_better=True),
        Case(name=f"create {n_runs} runs ({label})", unit="runs/s", modelyard=n_runs / m["runs"],
             incumbent=n_runs / f["runs"], higher_is_better=True),
        Case(name=f"search_runs over {n_search:,} runs ({label})", unit="s", modelyard=m["search"],
             incumbent=f["search"], higher_is_better=False,
             note=f"found {m['search_found']} (modelyard) and {f['search_found']} (mlflow)"),
        Case(name=f"GET a run (keep-alive, median) ({label})", unit="ms", modelyard=m["get_token_ms"],
             incumbent=f["get_ms"], higher_is_better=False,
             note="modelyard with a bearer token; mlflow server has no authentication"),
    ]  # fmt: skip


def run(options: Options) -> list[Case]:
    import tempfile

    n_steps = options.n(PER_STEP_METRICS, 100)
    n_runs = options.n(RUNS, 10)
    n_search = SEARCH_RUNS  # always 10,000: filling is a bulk insert, and the search is what is timed
    n_metrics = options.n(BATCHES, 1) * 1000
    with tempfile.TemporaryDirectory(prefix="modelyard-bench-server-") as tmp:
        root = Path(tmp)
        m = _modelyard_side(root, options, n_steps, n_runs, n_search)
        theirs = {
            label: _mlflow_side(root, options, n_steps, n_runs, n_search, workers)
            for label, workers in MLFLOW_CONFIGS.items()
        }
    for label, f in theirs.items():
        if m["per_step_stored"] != n_steps or f["per_step_stored"] != n_steps:
            raise RuntimeError(f"lost metrics: modelyard stored {m['per_step_stored']}, {label} {f['per_step_stored']}")
    cases = [case for label, f in theirs.items() for case in _cases(m, f, label, n_steps, n_metrics, n_runs, n_search)]
    return [
        *cases,
        Case(name="latency token auth adds", unit="ms", modelyard=m["get_token_ms"] - m["get_none_ms"], incumbent=None,
             higher_is_better=False,
             note=f"{m['get_token_ms']:.2f} ms with a token vs {m['get_none_ms']:.2f} ms with --auth none"),
        Case(name="token verification, CPU per request", unit="ms", modelyard=m["auth_cpu_ms"], incumbent=None,
             higher_is_better=False, note="IdentityService.authenticate in process: token by id, user, roles, SHA-256"),
    ]  # fmt: skip
