"""CLI start-up, side by side with MLflow's CLI: each command is a fresh process, timed to its exit.

Cases (``--scale`` shrinks the store's run count; each case reports the median of ``--repeats``):

* ``--help``: the command list, ``modelyard --help`` vs ``mlflow --help``;
* ``version``: ``modelyard version`` vs ``mlflow --version``;
* ``runs list``: one experiment of 1,000 finished runs (3 params, 2 metrics each) in a SQLite
  store, ``modelyard runs list -e EXP`` vs ``mlflow runs list --experiment-id ID``; both stores are
  filled through each tool's own client beforehand (not timed);
* ``models list``: ``modelyard models list`` on the same store (MLflow's CLI lists no registered
  models; the figure stands alone against its target).

Targets (issue 11): ``--help`` and ``version`` under 0.3 s, the lists under 1 s on 1,000 runs.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # no phoning home from a benchmark
os.environ.setdefault("DO_NOT_TRACK", "true")

import mlflow
from mlflow import MlflowClient

import modelyard as my
from benchmarks._common import Case, Options

TITLE = "CLI start-up: modelyard vs MLflow, a fresh process per command"
INCUMBENT = f"MLflow {mlflow.__version__}"
RUNS = 1_000
TARGET_START_S = 0.3
TARGET_LIST_S = 1.0

warnings.filterwarnings("ignore", module=r"mlflow(\.|$)")


def versions() -> dict[str, Any]:
    return {"modelyard_version": my.__version__, "mlflow_version": mlflow.__version__}


def _script(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def _wall(argv: list[str], env: dict[str, str], repeats: int) -> tuple[float, list[float], float]:
    """Median wall time of ``argv`` run to its exit ``repeats`` times (after one untimed run that
    warms the page cache), the times, and the median CPU time (user + system) the process used.

    The CPU time is what a busy machine changes least: on a shared machine read it beside the wall
    time. A failing command aborts the benchmark with its stderr.
    """
    times, cpus = [], []
    for index in range(repeats + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr[-2000:]}")
        if index:
            times.append(elapsed)
            cpus.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return statistics.median(times), times, statistics.median(cpus)


def _fill_modelyard(home: Path, runs: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELYARD_")}
    store, artifacts = f"sqlite:///{home / 'modelyard.db'}", str(home / "artifacts")
    env.update(
        MODELYARD_HOME=str(home),
        MODELYARD_STORE_URI=store,
        MODELYARD_ARTIFACT_URI=artifacts,
        MODELYARD_CAPTURE_ENVIRONMENT="false",
    )
    client = my.Client(home=home, store_uri=store, artifact_uri=artifacts, capture_environment=False)
    experiment_id = client.create_experiment("bench-cli")
    for i in range(runs):
        run_id = client.create_run(experiment_id, run_name=f"run-{i}").info.run_id
        client.log_batch(
            run_id,
            metrics=[{"key": "auc", "value": 0.5 + (i % 50) / 100}, {"key": "loss", "value": 1.0 / (i + 1)}],
            params={"model": ("rf", "gbm", "lr")[i % 3], "depth": i % 7, "seed": i},
        )
        client.set_terminated(run_id)
    client.flush()
    return env


def _fill_mlflow(folder: Path, runs: int) -> tuple[dict[str, str], str]:
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    experiment_id = client.create_experiment("bench-cli", artifact_location=str(folder / "artifacts"))
    for i in range(runs):
        run_id = client.create_run(experiment_id, run_name=f"run-{i}").info.run_id
        client.log_batch(
            run_id,
            metrics=[
                mlflow.entities.Metric("auc", 0.5 + (i % 50) / 100, 0, 0),
                mlflow.entities.Metric("loss", 1.0 / (i + 1), 0, 0),
            ],
            params=[
                mlflow.entities.Param("model", ("rf", "gbm", "lr")[i % 3]),
                mlflow.entities.Param("depth", str(i % 7)),
                mlflow.entities.Param("seed", str(i)),
            ],
        )
        client.set_terminated(run_id)
    env = dict(os.environ, MLFLOW_TRACKING_URI=uri)
    return env, experiment_id


def run(options: Options) -> list[Case]:
    runs = options.n(RUNS, minimum=10)
    repeats = options.repeats
    modelyard, mlflow_cli = _script("modelyard"), _script("mlflow")
    with tempfile.TemporaryDirectory(prefix="modelyard-bench-cli-") as tmp:
        root = Path(tmp)
        my_env = _fill_modelyard(root / "modelyard", runs)
        (root / "mlflow").mkdir()
        ml_env, experiment_id = _fill_mlflow(root / "mlflow", runs)

        cases = []
        for name, mine, theirs in (
            ("--help", [modelyard, "--help"], [mlflow_cli, "--help"]),
            ("version", [modelyard, "version"], [mlflow_cli, "--version"]),
        ):
            ours, our_times, our_cpu = _wall(mine, my_env, repeats)
            incumbent, their_times, their_cpu = _wall(theirs, ml_env, repeats)
            cases += _pair(f"`{name}`", ours, incumbent, our_cpu, their_cpu, TARGET_START_S, "", our_times, their_times)
        ours, our_times, our_cpu = _wall([modelyard, "runs", "list", "-e", "bench-cli"], my_env, repeats)
        incumbent, their_times, their_cpu = _wall(
            [mlflow_cli, "runs", "list", "--experiment-id", experiment_id], ml_env, repeats
        )
        cases += _pair(
            f"`runs list` ({runs:,} runs)",
            ours,
            incumbent,
            our_cpu,
            their_cpu,
            TARGET_LIST_S,
            "modelyard shows the newest 50 with their metrics; mlflow prints every run's id and name",
            our_times,
            their_times,
        )
        ours, our_times, our_cpu = _wall([modelyard, "models", "list"], my_env, repeats)
        cases += _pair(
            f"`models list` ({runs:,}-run store)",
            ours,
            None,
            our_cpu,
            None,
            TARGET_LIST_S,
            "MLflow's CLI lists no registered models",
            our_times,
            [],
        )
    return cases


def _pair(
    name: str,
    wall: float,
    incumbent_wall: float | None,
    cpu: float,
    incumbent_cpu: float | None,
    target_s: float,
    note: str,
    times: list[float],
    incumbent_times: list[float],
) -> list[Case]:
    """A command's wall-time case (with the target's verdict) and its CPU-time case."""
    verdict = f"target < {target_s:g} s wall: {'met' if wall < target_s else 'missed'}"
    return [
        Case(
            name=f"{name} wall",
            unit="s",
            modelyard=wall,
            incumbent=incumbent_wall,
            higher_is_better=False,
            note=f"{verdict}; {note}" if note else verdict,
            details={"modelyard_s": times, "incumbent_s": incumbent_times},
        ),
        Case(name=f"{name} CPU", unit="s", modelyard=cpu, incumbent=incumbent_cpu, higher_is_better=False),
    ]
