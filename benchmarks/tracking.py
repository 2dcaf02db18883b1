"""Tracking, side by side with MLflow, each on a fresh SQLite file of its own in a temporary folder.

Cases (full size; ``--scale`` shrinks all of them alike):

* per-step logging: 10,000 ``log_metric`` calls in a training loop through each tool's fluent API,
  timed until ``end_run`` returned, then the history is read back: every value must be stored;
* batch logging: 10 ``log_batch`` calls of 1,000 metrics each;
* run creation: 1,000 fluent runs, each with 3 params and 2 metrics (start, log, end);
* search: ``search_runs`` with a filter and an order over 10,000 runs, returning up to 1,000.
  Each store is filled in bulk through its own row layer (the rows its API writes: a run, its
  params, its metric history and latest values); only the search is timed.

Cheap cases report the median of ``--repeats``; MLflow's per-step and run-creation cases take
minutes, so they run once. Each tool gets the same warm-up (a small run) before its first case.
"""

from __future__ import annotations

import logging
import os
import random
import tempfile
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # no phoning home from a benchmark
os.environ.setdefault("DO_NOT_TRACK", "true")

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric as MlflowMetric
from sqlalchemy import Table

import modelyard as my
from benchmarks._common import Case, Options, median_seconds, timed
from modelyard.domain.tracking import LifecycleStage, Metric, RunStatus
from modelyard.store.tables import latest_metrics, metrics, params, runs

TITLE = "Tracking: modelyard vs MLflow, each on its own SQLite file"
INCUMBENT = f"MLflow {mlflow.__version__}"

PER_STEP_METRICS = 10_000
BATCHES, BATCH_SIZE = 10, 1_000
RUNS = 1_000
SEARCH_RUNS = 10_000
SEARCH_FILTER = "metrics.auc > 0.9 and params.model = 'rf'"
SEARCH_ORDER = ["metrics.auc DESC"]
SEARCH_MAX = 1_000
SEARCH_REPEATS = 5
MODELS = ("rf", "gbm", "lr")

TARGETS = {"per_step": 50.0, "batch": 3.0, "runs": 3.0, "search": 5.0}

logging.getLogger("mlflow").setLevel(logging.WARNING)
logging.getLogger("alembic").setLevel(logging.WARNING)
warnings.filterwarnings("ignore", module=r"mlflow(\.|$)")


def versions() -> dict[str, Any]:
    return {"modelyard_version": my.__version__, "mlflow_version": mlflow.__version__}


def _run_data(i: int, rng: random.Random) -> tuple[dict[str, Any], dict[str, float]]:
    """The params and metrics of the ``i``-th run: the same on both sides (same seed)."""
    return {"model": MODELS[i % 3], "depth": i % 10, "lr": 0.1}, {"auc": rng.uniform(0.5, 1.0), "loss": rng.random()}


def _batch(index: int) -> list[tuple[str, float, int]]:
    """The ``index``-th batch: 10 keys x 100 steps, as (key, value, step)."""
    return [(f"m{j % 10}", float(index * BATCH_SIZE + j), index * 100 + j // 10) for j in range(BATCH_SIZE)]


# -- the workloads, written once: ``api`` is the ``modelyard`` or the ``mlflow`` module, ``client``
# a ``modelyard.Client`` or an ``MlflowClient`` (both spell these calls alike) ------------------------


def _warm_up(api: Any) -> None:
    """The same small run on each side before its first case."""
    with api.start_run():
        for step in range(10):
            api.log_metric("warm", step, step=step)


def _step_loop(api: Any, n: int) -> Callable[[], None]:
    """``n`` per-step ``log_metric`` calls into the active run, then ``end_run``."""

    def loop() -> None:
        for step in range(n):
            api.log_metric("loss", 1.0 / (step + 1), step=step)
        api.end_run()

    return loop


def _log_batches(client: Any, experiment_id: str, prepared: list[list[Any]], repeats: int) -> tuple[float, list[float]]:
    """Median and all timings of logging ``prepared`` with ``log_batch``, each repeat into a new run."""

    def once() -> None:
        run_id = client.create_run(experiment_id).info.run_id

        def go() -> None:
            for batch in prepared:
                client.log_batch(run_id, metrics=batch)

        times.append(timed(go))
        client.set_terminated(run_id)

    times: list[float] = []
    for _ in range(repeats):
        once()
    return sorted(times)[len(times) // 2], times


def _fluent_runs(api: Any, n: int) -> Callable[[], None]:
    """``n`` fluent runs (start, 3 params, 2 metrics, end); the data go on across calls, one seed."""
    rng = random.Random(1)

    def go() -> None:
        for i in range(n):
            params, values = _run_data(i, rng)
            with api.start_run():
                api.log_params(params)
                api.log_metrics(values)

    return go


def _timed_search(client: Any, experiment_id: str, repeats: int) -> tuple[float, list[float], int]:
    """Median and all timings of the filtered, ordered search, and how many runs it found."""
    found: list[int] = []

    def go() -> None:
        found.append(
            len(client.search_runs([experiment_id], SEARCH_FILTER, max_results=SEARCH_MAX, order_by=SEARCH_ORDER))
        )

    median, times = median_seconds(go, repeats)
    return median, times, found[0]


# -- modelyard ---------------------------------------------------------------------------------


@contextmanager
def _modelyard_store(root: Path, name: str) -> Iterator[str]:
    """Point the fluent API at a fresh SQLite file; yields the id of an experiment in it."""
    folder = root / f"modelyard-{name}"
    my.configure(home=folder, store_uri=f"sqlite:///{folder / 'store.db'}", artifact_uri=str(folder / "artifacts"))
    experiment = my.set_experiment(f"bench-{name}")
    _warm_up(my)
    yield experiment.experiment_id


def _modelyard_per_step(root: Path, n: int, repeats: int) -> tuple[float, list[float], int]:
    with _modelyard_store(root, "per-step"):
        stored: list[int] = []

        def once() -> None:
            run = my.start_run()
            run_id = run.info.run_id
            times.append(timed(_step_loop(my, n)))
            stored.append(len(my.client().get_metric_history(run_id, "loss")))

        times: list[float] = []
        for _ in range(repeats):
            once()
        return sorted(times)[len(times) // 2], times, min(stored)


def _modelyard_batch(root: Path, batches: int, repeats: int) -> tuple[float, list[float]]:
    with _modelyard_store(root, "batch") as experiment_id:
        client = my.client()
        prepared = [
            [Metric(key=k, value=v, step=s, timestamp=1_700_000_000_000 + s) for k, v, s in _batch(b)]
            for b in range(batches)
        ]
        return _log_batches(client, experiment_id, prepared, repeats)


def _modelyard_runs(root: Path, n: int, repeats: int) -> tuple[float, list[float], int]:
    with _modelyard_store(root, "runs") as experiment_id:
        median, times = median_seconds(_fluent_runs(my, n), repeats)
        found = len(my.search_runs([experiment_id], output_format="list"))
        return median, times, (found - 1) // repeats  # minus the warm-up run


def _modelyard_search(root: Path, n: int, repeats: int) -> tuple[float, list[float], int]:
    with _modelyard_store(root, "search") as experiment_id:
        fill_modelyard_runs(my.client().backend, experiment_id, n)
        return _timed_search(my.client(), experiment_id, repeats)


def fill_modelyard_runs(backend: Any, experiment_id: str, n: int) -> None:
    """``n`` finished runs in bulk: the rows ``RunService.create`` + ``log_batch`` write (a run, its
    params, its metric history and latest values), so that only a search over them is timed."""
    rng = random.Random(2)
    base = 1_700_000_000_000
    experiment = backend.experiments.get(experiment_id)
    for start in range(0, n, 1000):
        rows: dict[Table, list[dict[str, Any]]] = {t: [] for t in (runs, params, metrics, latest_metrics)}
        for i in range(start, min(n, start + 1000)):
            run_id = uuid.uuid4().hex
            run_params, values = _run_data(i, rng)
            rows[runs].append(
                {
                    "run_id": run_id,
                    "experiment_id": int(experiment_id),
                    "run_name": f"run-{i}",
                    "user": "bench",
                    "status": RunStatus.FINISHED.value,
                    "start_time": base + i,
                    "end_time": base + i + 1,
                    "heartbeat_time": base + i,
                    "lifecycle_stage": LifecycleStage.ACTIVE.value,
                    "artifact_uri": f"{experiment.artifact_location}/{run_id}/artifacts",
                    "parent_run_id": None,
                    "source_name": None,
                    "source_git_commit": None,
                    "source_git_dirty": None,
                    "environment_digest": None,
                }
            )
            rows[params].extend({"run_id": run_id, "key": k, "value": str(v)} for k, v in run_params.items())
            for key, value in values.items():
                row = {"run_id": run_id, "key": key, "value": value, "timestamp": base + i, "step": 0}
                rows[metrics].append(row)
                rows[latest_metrics].append(row)
        with backend.db.begin() as conn:
            for table, batch in rows.items():
                conn.execute(table.insert(), batch)


# -- MLflow ------------------------------------------------------------------------------------


@contextmanager
def _mlflow_store(root: Path, name: str) -> Iterator[str]:
    """Point MLflow's fluent API at a fresh SQLite file; yields the id of an experiment in it."""
    folder = root / f"mlflow-{name}"
    folder.mkdir(parents=True)
    mlflow.set_tracking_uri(f"sqlite:///{folder / 'mlflow.db'}")
    experiment_id = MlflowClient().create_experiment(f"bench-{name}", artifact_location=str(folder / "artifacts"))
    mlflow.set_experiment(experiment_id=experiment_id)
    _warm_up(mlflow)
    yield experiment_id


def _mlflow_per_step(root: Path, n: int) -> tuple[float, int]:
    with _mlflow_store(root, "per-step"):
        run_id = mlflow.start_run().info.run_id
        seconds = timed(_step_loop(mlflow, n))
        return seconds, len(MlflowClient().get_metric_history(run_id, "loss"))


def _mlflow_batch(root: Path, batches: int, repeats: int) -> tuple[float, list[float]]:
    with _mlflow_store(root, "batch") as experiment_id:
        client = MlflowClient()
        prepared = [
            [MlflowMetric(key=k, value=v, timestamp=1_700_000_000_000 + s, step=s) for k, v, s in _batch(b)]
            for b in range(batches)
        ]
        return _log_batches(client, experiment_id, prepared, repeats)


def _mlflow_runs(root: Path, n: int) -> tuple[float, int]:
    with _mlflow_store(root, "runs") as experiment_id:
        seconds = timed(_fluent_runs(mlflow, n))
        found = len(MlflowClient().search_runs([experiment_id], max_results=50_000))
        return seconds, found - 1  # minus the warm-up run


def _mlflow_search(root: Path, n: int, repeats: int) -> tuple[float, list[float], int]:
    from mlflow.tracking._tracking_service.utils import _get_store

    with _mlflow_store(root, "search") as experiment_id:
        fill_mlflow_runs(_get_store(), MlflowClient().get_experiment(experiment_id).artifact_location, experiment_id, n)
        return _timed_search(MlflowClient(), experiment_id, repeats)


def fill_mlflow_runs(store: Any, artifact_location: str, experiment_id: str, n: int) -> None:
    """``n`` finished runs in bulk: the rows ``MlflowClient.create_run`` + ``log_batch`` write (a
    run, its mlflow.runName tag, its params, its metric history and latest values)."""
    from mlflow.store.tracking.dbmodels.models import SqlLatestMetric, SqlMetric, SqlParam, SqlRun, SqlTag

    rng = random.Random(2)
    base = 1_700_000_000_000
    for start in range(0, n, 1000):
        rows: dict[Any, list[dict[str, Any]]] = {t: [] for t in (SqlRun, SqlTag, SqlParam, SqlMetric, SqlLatestMetric)}
        for i in range(start, min(n, start + 1000)):
            run_id = uuid.uuid4().hex
            run_params, values = _run_data(i, rng)
            rows[SqlRun].append(
                {
                    "run_uuid": run_id,
                    "name": f"run-{i}",
                    "source_type": "UNKNOWN",
                    "source_name": "",
                    "entry_point_name": "",
                    "user_id": "bench",
                    "status": "FINISHED",
                    "start_time": base + i,
                    "end_time": base + i + 1,
                    "deleted_time": None,
                    "source_version": "",
                    "lifecycle_stage": "active",
                    "artifact_uri": f"{artifact_location}/{run_id}/artifacts",
                    "experiment_id": int(experiment_id),
                }
            )
            rows[SqlTag].append({"run_uuid": run_id, "key": "mlflow.runName", "value": f"run-{i}"})
            rows[SqlParam].extend({"run_uuid": run_id, "key": k, "value": str(v)} for k, v in run_params.items())
            for key, value in values.items():
                row = {"run_uuid": run_id, "key": key, "value": value, "timestamp": base + i, "step": 0}
                rows[SqlMetric].append({**row, "is_nan": False})
                rows[SqlLatestMetric].append({**row, "is_nan": False})
        with store.engine.begin() as conn:
            for model, batch in rows.items():
                conn.execute(model.__table__.insert(), batch)


# -- the suite ---------------------------------------------------------------------------------


def run(options: Options) -> list[Case]:
    """Every tracking case, modelyard first then MLflow, each on fresh stores under one temp dir."""
    n_steps = options.n(PER_STEP_METRICS, 10)
    n_batches = options.n(BATCHES, 1)
    n_runs = options.n(RUNS, 10)
    n_search = options.n(SEARCH_RUNS, 100)
    cases: list[Case] = []
    with tempfile.TemporaryDirectory(prefix="modelyard-bench-") as tmp:
        root = Path(tmp)

        my_step_s, my_step_all, my_stored = _modelyard_per_step(root, n_steps, options.repeats)
        ml_step_s, ml_stored = _mlflow_per_step(root, n_steps)
        cases.append(
            Case(
                name=f"per-step log_metric ({n_steps:,} calls, until end_run returned)",
                unit="metrics/s",
                modelyard=n_steps / my_step_s,
                incumbent=n_steps / ml_step_s,
                higher_is_better=True,
                target=TARGETS["per_step"],
                note=f"read back after end_run: modelyard {my_stored:,}/{n_steps:,}, MLflow {ml_stored:,}/{n_steps:,}",
                details={"modelyard_s": my_step_all, "mlflow_s": [ml_step_s], "stored": [my_stored, ml_stored]},
            )
        )
        if my_stored != n_steps:
            raise SystemExit(f"modelyard lost metrics: {my_stored} of {n_steps} stored after end_run")

        n_metrics = n_batches * BATCH_SIZE
        my_batch_s, my_batch_all = _modelyard_batch(root, n_batches, options.repeats)
        ml_batch_s, ml_batch_all = _mlflow_batch(root, n_batches, options.repeats)
        cases.append(
            Case(
                name=f"log_batch ({n_batches} x {BATCH_SIZE:,} metrics)",
                unit="metrics/s",
                modelyard=n_metrics / my_batch_s,
                incumbent=n_metrics / ml_batch_s,
                higher_is_better=True,
                target=TARGETS["batch"],
                details={"modelyard_s": my_batch_all, "mlflow_s": ml_batch_all},
            )
        )

        my_runs_s, my_runs_all, my_found = _modelyard_runs(root, n_runs, options.repeats)
        ml_runs_s, ml_found = _mlflow_runs(root, n_runs)
        cases.append(
            Case(
                name=f"create runs ({n_runs:,}, 3 params + 2 metrics each, fluent)",
                unit="runs/s",
                modelyard=n_runs / my_runs_s,
                incumbent=n_runs / ml_runs_s,
                higher_is_better=True,
                target=TARGETS["runs"],
                details={"modelyard_s": my_runs_all, "mlflow_s": [ml_runs_s], "found": [my_found, ml_found]},
            )
        )

        my_search_s, my_search_all, my_hits = _modelyard_search(root, n_search, SEARCH_REPEATS)
        ml_search_s, ml_search_all, ml_hits = _mlflow_search(root, n_search, SEARCH_REPEATS)
        cases.append(
            Case(
                name=f"search_runs over {n_search:,} runs (filter + order, max {SEARCH_MAX:,})",
                unit="s",
                modelyard=my_search_s,
                incumbent=ml_search_s,
                higher_is_better=False,
                target=TARGETS["search"],
                note=f"{SEARCH_FILTER!r} order by {SEARCH_ORDER[0]}: modelyard {my_hits} runs, MLflow {ml_hits}",
                details={"modelyard_s": my_search_all, "mlflow_s": ml_search_all, "hits": [my_hits, ml_hits]},
            )
        )
    return cases
