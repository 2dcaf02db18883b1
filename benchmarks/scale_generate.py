"""Fill a modelyard store (and, side by side, an MLflow one) on PostgreSQL with a large, realistic
tracking history, through PostgreSQL's bulk path (``COPY … FROM STDIN``), not the SDK loop.

Full size (``--scale 1``): 1,000,000 finished runs over 1,000 experiments, each run with 20
params, 10 tags and 10 final metrics (history row and latest value, as ``log_metrics`` writes
them); 1,000 of the runs also hold a training history of 50 metrics x 2,000 steps, so the history
tables hold 100,000,000 points. ``--scale 0.01`` (10,000 runs, 1,000,000 points) takes a few
minutes on 2 cores. One experiment, ``scale-big``, holds a fifth of the runs: searches within one
large experiment are where a store shows whether its plans scale. Another, ``scale-wide``, holds
30,000 runs (3,000 at ``--scale 0.01``) of 100 metrics each, 3 params and 2 tags: the fetch of
mlflow#2730 (30,000 runs with 100 metrics as a DataFrame). The fill also writes what the
measurement reads besides the runs (``_scale_fill``: one metric of 1,000,000 points in the first
run with a history, 10,000 registered models with 5 tags each) and leaves a record of itself in
the database's comment, so that ``scale.py --reuse`` measures a fill again without refilling.

Both stores get the same history (one seeded generator writes each chunk of runs into both), in
the rows each tool's own API writes: modelyard's tables through its schema, MLflow's through the
tables its ``SqlAlchemyStore`` creates (plus the ``mlflow.runName`` and ``mlflow.user`` tags its
client adds). Usage::

    python benchmarks/scale_generate.py --scale 0.01 \\
        --modelyard postgresql+psycopg://postgres@127.0.0.1:5432/scale_bench_my \\
        --mlflow postgresql+psycopg://postgres@127.0.0.1:5432/scale_bench_mlflow
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

import psycopg
from sqlalchemy.engine import make_url

from benchmarks import _scale_fill
from benchmarks._scale_fill import libpq_url
from benchmarks._scale_writers import BASE_MS, Chunk, MlflowWriter, ModelyardWriter

FULL_RUNS = 1_000_000
RUNS_PER_EXPERIMENT = 1_000
BIG_EXPERIMENT_SHARE = 0.2  # of all runs, in the one large experiment
PARAMS = 20
TAGS = 10
FINAL_METRICS = ("auc", "loss", "accuracy", "f1", "precision", "recall", "rmse", "mae", "val_loss", "epoch_time")
FULL_HISTORY_RUNS = 1_000
HISTORY_KEYS = 50
HISTORY_STEPS = 2_000
CHUNK_RUNS = 5_000
WIDE_RUNS, WIDE_METRICS = 30_000, 100  # the wide experiment: 30,000 runs from --scale 0.1 up
MODELS = ("rf", "gbm", "lr", "mlp", "svm")
YEAR_MS = 365 * 24 * 3600 * 1000  # runs start over the year after BASE_MS


@dataclass(frozen=True)
class Plan:
    """How many of everything at one ``scale``."""

    scale: float
    runs: int
    experiments: int
    history_runs: int
    history_keys: int = HISTORY_KEYS
    history_steps: int = HISTORY_STEPS
    wide_runs: int = 0

    @classmethod
    def at(cls, scale: float) -> Plan:
        runs = max(100, round(FULL_RUNS * scale))
        return cls(
            scale=scale,
            runs=runs,
            experiments=max(2, runs // RUNS_PER_EXPERIMENT),
            history_runs=max(1, round(FULL_HISTORY_RUNS * scale)),
            wide_runs=round(WIDE_RUNS * min(1.0, 10 * scale)),
        )

    @property
    def points(self) -> int:
        """Points of the main history (the issue's 100,000,000 at full size), not the wide runs'."""
        return self.history_runs * self.history_keys * self.history_steps + self.runs * len(FINAL_METRICS)

    @property
    def wide_points(self) -> int:
        return self.wide_runs * WIDE_METRICS


@dataclass
class Filled:
    """What the generator wrote, for the benchmark to aim its queries at."""

    plan: Plan
    experiment_ids: dict[str, list[int]] = field(default_factory=dict)  # store -> ids, big one first
    wide_experiment_ids: dict[str, int] = field(default_factory=dict)  # store -> id of scale-wide
    history_run_ids: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # phase -> seconds (all stores together)

    def record(self, tool: str) -> dict[str, Any]:
        """What one tool's database keeps of this fill (``_scale_fill.save_record``)."""
        return {
            "plan": asdict(self.plan),
            "experiment_ids": self.experiment_ids[tool],
            "wide_experiment_id": self.wide_experiment_ids.get(tool),
            "history_run_ids": self.history_run_ids,
            "seconds": self.seconds,
        }

    @classmethod
    def from_records(cls, records: dict[str, dict[str, Any]]) -> Filled:
        """The fill the ``records`` of each tool's database describe (the same plan in each)."""
        first = next(iter(records.values()))
        filled = cls(plan=Plan(**first["plan"]), history_run_ids=list(first["history_run_ids"]))
        filled.seconds = {k: float(v) for k, v in first["seconds"].items()}
        for tool, record in records.items():
            filled.experiment_ids[tool] = [int(e) for e in record["experiment_ids"]]
            if record.get("wide_experiment_id") is not None:
                filled.wide_experiment_ids[tool] = int(record["wide_experiment_id"])
        return filled


def fresh_database(url: str) -> None:
    """Drop and create the database ``url`` names (through the server's ``postgres`` database)."""
    parsed = make_url(url)
    name = parsed.database
    assert name and name.replace("_", "").isalnum(), f"a plain database name, got {name!r}"
    admin = libpq_url(parsed.set(database="postgres").render_as_string(hide_password=False))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def create_modelyard_schema(url: str) -> None:
    from modelyard.store.db import Database
    from modelyard.store.migration import ensure_schema

    db = Database(url)
    try:
        ensure_schema(db)
    finally:
        db.dispose()


def create_mlflow_schema(url: str, artifact_root: str) -> None:
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    store = SqlAlchemyStore(url, artifact_root)
    store.engine.dispose()


# -- the history, one chunk of runs at a time ---------------------------------------------------------


def _experiment_of(index: int, plan: Plan) -> int:
    """Which experiment (0-based) the ``index``-th run goes to: a fifth to the big one, the rest spread."""
    big = int(plan.runs * BIG_EXPERIMENT_SHARE)
    if index < big:
        return 0
    return 1 + (index - big) % (plan.experiments - 1)


def _params(rng: random.Random, i: int) -> list[tuple[str, str]]:
    fixed = [
        ("model", MODELS[i % len(MODELS)]),
        ("lr", f"{10 ** rng.uniform(-4, -1):.6f}"),
        ("depth", str(rng.randint(2, 16))),
        ("batch_size", str(2 ** rng.randint(4, 10))),
        ("optimizer", rng.choice(("adam", "sgd", "adamw"))),
    ]
    return fixed + [(f"param_{k:02d}", str(rng.randint(0, 1000))) for k in range(len(fixed), PARAMS)]


def _tags(rng: random.Random, i: int) -> list[tuple[str, str]]:
    fixed = [
        ("team", rng.choice(("vision", "nlp", "ranking", "fraud"))),
        ("dataset", f"ds-v{rng.randint(1, 40)}"),
        ("git_branch", rng.choice(("main", "dev", f"feature-{i % 97}"))),
        ("stage", rng.choice(("dev", "staging", "prod"))),
    ]
    return fixed + [(f"tag_{k:02d}", f"value-{rng.randint(0, 100)}") for k in range(len(fixed), TAGS)]


def _final_metrics(rng: random.Random) -> list[tuple[str, float]]:
    auc = rng.uniform(0.5, 1.0)
    return [
        ("auc", auc),
        ("loss", rng.uniform(0.01, 2.0)),
        ("accuracy", rng.uniform(0.5, 1.0)),
        ("f1", rng.uniform(0.3, 1.0)),
        ("precision", rng.uniform(0.3, 1.0)),
        ("recall", rng.uniform(0.3, 1.0)),
        ("rmse", rng.uniform(0.1, 10.0)),
        ("mae", rng.uniform(0.05, 8.0)),
        ("val_loss", rng.uniform(0.01, 2.5)),
        ("epoch_time", rng.uniform(1.0, 600.0)),
    ]


def _history(rng: random.Random, run_id: str, start: int, plan: Plan, chunk: Chunk) -> None:
    """A training curve per key: ``history_steps`` decaying, noisy values a second apart."""
    steps = plan.history_steps
    for k in range(plan.history_keys):
        key = f"train/metric_{k:02d}"
        scale = rng.uniform(0.5, 5.0)
        value = 0.0
        for step in range(steps):
            value = scale / (1.0 + step * 0.01) + rng.random() * 0.01
            chunk.metrics.append((run_id, key, value, start + step * 1000, step))
        chunk.latest.append((run_id, key, value, start + (steps - 1) * 1000, steps - 1))


def chunks(plan: Plan, seed: int = 16) -> Iterator[tuple[Chunk, list[str]]]:
    """The whole history in chunks of ``CHUNK_RUNS`` runs, and the ids of runs with a history."""
    rng = random.Random(seed)
    every = max(1, plan.runs // plan.history_runs)
    histories = 0
    for first in range(0, plan.runs, CHUNK_RUNS):
        chunk = Chunk()
        with_history: list[str] = []
        for i in range(first, min(plan.runs, first + CHUNK_RUNS)):
            run_id = uuid.UUID(int=rng.getrandbits(128), version=4).hex
            start = BASE_MS + int(YEAR_MS * i / plan.runs) + rng.randint(0, 999)
            end = start + rng.randint(60_000, 3_600_000)
            chunk.runs.append((run_id, _experiment_of(i, plan), f"run-{i}", f"user{i % 50}", start, end))
            chunk.params.extend((run_id, k, v) for k, v in _params(rng, i))
            chunk.tags.extend((run_id, k, v) for k, v in _tags(rng, i))
            for key, value in _final_metrics(rng):
                chunk.metrics.append((run_id, key, value, end, 0))
                chunk.latest.append((run_id, key, value, end, 0))
            if i % every == 0 and histories < plan.history_runs:
                _history(rng, run_id, start, plan, chunk)
                with_history.append(run_id)
                histories += 1
        yield chunk, with_history


def wide_chunks(plan: Plan, seed: int = 2730) -> Iterator[Chunk]:
    """The wide experiment's runs (experiment index ``plan.experiments``), ``CHUNK_RUNS`` at a time:
    ``WIDE_METRICS`` metrics each, as ``log_metrics`` writes them (a history row and the latest)."""
    rng = random.Random(seed)
    keys = [f"wide_{k:03d}" for k in range(WIDE_METRICS)]
    for first in range(0, plan.wide_runs, CHUNK_RUNS):
        chunk = Chunk()
        for i in range(first, min(plan.wide_runs, first + CHUNK_RUNS)):
            run_id = uuid.UUID(int=rng.getrandbits(128), version=4).hex
            start = BASE_MS + int(YEAR_MS * i / plan.wide_runs)
            end = start + rng.randint(60_000, 3_600_000)
            chunk.runs.append((run_id, plan.experiments, f"wide-{i}", f"user{i % 50}", start, end))
            chunk.params.extend(
                [(run_id, "model", MODELS[i % len(MODELS)]), (run_id, "lr", f"{10 ** rng.uniform(-4, -1):.6f}"),
                 (run_id, "depth", str(rng.randint(2, 16)))]
            )  # fmt: skip
            chunk.tags.extend([(run_id, "team", rng.choice(("vision", "nlp"))), (run_id, "stage", "dev")])
            for key in keys:
                row = (run_id, key, rng.random(), end, 0)
                chunk.metrics.append(row)
                chunk.latest.append(row)
        yield chunk


def _progress(message: str) -> None:
    print(message, flush=True)


def fill(
    plan: Plan,
    *,
    modelyard: str | None,
    mlflow: str | None,
    artifact_root: str,
    fresh: bool = True,
    log: Callable[[str], None] | None = None,
) -> Filled:
    """Create the schemas (on fresh databases unless ``fresh=False``), write the whole history, the
    wide experiment and the extras, rebuild the indexes and record the fill in each database.
    ``log`` hears of each chunk written (with the rate so far) and of each phase's end."""
    say = log or (lambda _: None)
    filled = Filled(plan=plan)
    writers: list[ModelyardWriter] = []
    if modelyard:
        if fresh:
            fresh_database(modelyard)
        create_modelyard_schema(modelyard)
        writers.append(ModelyardWriter(modelyard, f"{artifact_root}/modelyard"))
    if mlflow:
        if fresh:
            fresh_database(mlflow)
        create_mlflow_schema(mlflow, f"{artifact_root}/mlflow")
        writers.append(MlflowWriter(mlflow, f"{artifact_root}/mlflow"))
    seconds = filled.seconds

    def timed_phase(phase: str, writer: ModelyardWriter, work: Callable[[], None]) -> None:
        begun = time.perf_counter()
        work()
        seconds[f"{writer.name} {phase}"] = seconds.get(f"{writer.name} {phase}", 0.0) + time.perf_counter() - begun

    for writer in writers:
        ids = writer.experiments(plan.experiments, wide=plan.wide_runs > 0)
        filled.experiment_ids[writer.name] = ids[: plan.experiments]
        if plan.wide_runs:
            filled.wide_experiment_ids[writer.name] = ids[-1]
    seconds["generate"] = 0.0
    begun_all = time.perf_counter()
    started = time.perf_counter()
    total_chunks = -(-plan.runs // CHUNK_RUNS)
    for n, (chunk, with_history) in enumerate(chunks(plan), start=1):
        seconds["generate"] += time.perf_counter() - started
        filled.history_run_ids.extend(with_history)
        for writer in writers:
            timed_phase("copy", writer, partial(writer.write, chunk))
        elapsed = time.perf_counter() - begun_all
        say(
            f"chunk {n}/{total_chunks}: {min(n * CHUNK_RUNS, plan.runs):,} runs, {elapsed:,.0f} s, "
            f"projected {elapsed / n * total_chunks:,.0f} s for the runs"
        )
        started = time.perf_counter()
    for chunk in wide_chunks(plan):
        seconds["generate"] += time.perf_counter() - started
        for writer in writers:
            timed_phase("wide", writer, partial(writer.write, chunk))
        started = time.perf_counter()
    say(f"runs and wide experiment written in {time.perf_counter() - begun_all:,.0f} s")
    for writer in writers:
        timed_phase("extras", writer, partial(writer.extras, filled.history_run_ids[0]))
        say(f"{writer.name}: long history and registered models in {seconds[f'{writer.name} extras']:,.0f} s")
        timed_phase("indexes", writer, writer.finish)
        say(f"{writer.name}: indexes rebuilt, tables analyzed in {seconds[f'{writer.name} indexes']:,.0f} s")
    seconds["total"] = time.perf_counter() - begun_all
    for writer in writers:
        writer.save(filled.record(writer.name))
    return filled


def load(plan: Plan, urls: dict[str, str]) -> Filled:
    """The fill of ``plan``'s size that each database in ``urls`` (tool -> URL) records; raises
    ``LookupError`` with one readable line when one holds none of that size."""
    records: dict[str, dict[str, Any]] = {}
    for tool, url in urls.items():
        record = _scale_fill.load_record(libpq_url(url))
        name = make_url(url).database
        if record is None:
            raise LookupError(f"database {name} holds no scale fill: fill it first (without --reuse, or --fill-only)")
        if Plan(**record["plan"]) != plan:
            raise LookupError(
                f"database {name} holds a fill of size {record['plan']['scale']:g}, not {plan.scale:g}: "
                "fill it again (without --reuse)"
            )
        records[tool] = record
    return Filled.from_records(records)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--scale", type=float, default=0.01, help="1 = 1,000,000 runs and 100,000,000 points")
    parser.add_argument("--modelyard", help="SQLAlchemy URL of the modelyard database (recreated)")
    parser.add_argument("--mlflow", help="SQLAlchemy URL of the MLflow database (recreated)")
    parser.add_argument("--artifact-root", default="/tmp/modelyard-scale-artifacts")
    args = parser.parse_args(argv)
    if not (args.modelyard or args.mlflow):
        parser.error("give --modelyard URL, --mlflow URL or both")
    if not 0 < args.scale <= 1:
        parser.error(f"--scale must be in (0, 1], got {args.scale}")
    plan = Plan.at(args.scale)
    print(f"{plan.runs:,} runs over {plan.experiments:,} experiments, {plan.points:,} metric points")
    filled = fill(plan, modelyard=args.modelyard, mlflow=args.mlflow, artifact_root=args.artifact_root, log=_progress)
    for name, seconds in filled.seconds.items():
        print(f"{name}: {seconds:,.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
