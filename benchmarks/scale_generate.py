"""Fill a modelyard store (and, side by side, an MLflow one) on PostgreSQL with a large, realistic
tracking history, through PostgreSQL's bulk path (``COPY … FROM STDIN``), not the SDK loop.

Full size (``--scale 1``): 1,000,000 finished runs over 1,000 experiments, each run with 20
params, 10 tags and 10 final metrics (history row and latest value, as ``log_metrics`` writes
them); 1,000 of the runs also hold a training history of 50 metrics x 2,000 steps, so the history
tables hold 100,000,000 points. ``--scale 0.01`` (10,000 runs, 1,000,000 points) takes a few
minutes on 2 cores. One experiment, ``scale-big``, holds a fifth of the runs: searches within one
large experiment are where a store shows whether its plans scale.

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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

import psycopg
from sqlalchemy.engine import make_url

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
MODELS = ("rf", "gbm", "lr", "mlp", "svm")
BASE_MS = 1_735_689_600_000  # 2025-01-01: runs start over the following year
YEAR_MS = 365 * 24 * 3600 * 1000


@dataclass(frozen=True)
class Plan:
    """How many of everything at one ``scale``."""

    scale: float
    runs: int
    experiments: int
    history_runs: int
    history_keys: int = HISTORY_KEYS
    history_steps: int = HISTORY_STEPS

    @classmethod
    def at(cls, scale: float) -> Plan:
        runs = max(100, round(FULL_RUNS * scale))
        return cls(
            scale=scale,
            runs=runs,
            experiments=max(2, runs // RUNS_PER_EXPERIMENT),
            history_runs=max(1, round(FULL_HISTORY_RUNS * scale)),
        )

    @property
    def points(self) -> int:
        return self.history_runs * self.history_keys * self.history_steps + self.runs * len(FINAL_METRICS)


@dataclass
class Filled:
    """What the generator wrote, for the benchmark to aim its queries at."""

    plan: Plan
    experiment_ids: dict[str, list[int]] = field(default_factory=dict)  # store -> ids, big one first
    history_run_ids: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL (``postgresql+psycopg://…``) as libpq spells it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


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


@dataclass
class Chunk:
    """The rows of some runs, tool-neutral: each writer lays them out in its own tables."""

    runs: list[tuple[str, int, str, str, int, int]] = field(default_factory=list)  # id, exp, name, user, start, end
    params: list[tuple[str, str, str]] = field(default_factory=list)  # run, key, value
    tags: list[tuple[str, str, str]] = field(default_factory=list)
    metrics: list[tuple[str, str, float, int, int]] = field(default_factory=list)  # run, key, value, ts, step
    latest: list[tuple[str, str, float, int, int]] = field(default_factory=list)


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


# -- writers: one per tool's schema ---------------------------------------------------------------------

EXPERIMENT_COLUMNS = (
    "experiment_id", "name", "artifact_location", "lifecycle_stage", "creation_time", "last_update_time",
)  # fmt: skip
MODELYARD_RUN_COLUMNS = (
    "run_id", "experiment_id", "run_name", "user", "status", "start_time", "end_time", "heartbeat_time",
    "lifecycle_stage", "artifact_uri",
)  # fmt: skip
MLFLOW_RUN_COLUMNS = (
    "run_uuid", "name", "source_type", "source_name", "entry_point_name", "user_id", "status", "start_time",
    "end_time", "source_version", "lifecycle_stage", "artifact_uri", "experiment_id",
)  # fmt: skip
_SETVAL = (
    "SELECT setval(pg_get_serial_sequence('experiments', 'experiment_id'), "
    "(SELECT max(experiment_id) FROM experiments))"
)


def _copy(conn: psycopg.Connection[Any], table: str, columns: Sequence[str], rows: Iterator[tuple[Any, ...]]) -> None:
    cols = ", ".join(f'"{c}"' for c in columns)
    with conn.cursor() as cur, cur.copy(f'COPY "{table}" ({cols}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)


class ModelyardWriter:
    """COPY into modelyard's tracking tables (``modelyard.store.tables.tracking``)."""

    name = "modelyard"

    tables = ("experiments", "runs", "params", "tags", "metrics", "latest_metrics")

    def __init__(self, url: str, artifact_root: str) -> None:
        self.conn = psycopg.connect(libpq_url(url))
        # A loader's commits need not wait for the disk: a crash means loading again anyway.
        self.conn.execute("SET synchronous_commit = off")
        # Nor check each row's foreign keys (the generator writes every run before its rows), as
        # pg_restore --disable-triggers does; needs a superuser, as a restore does.
        self.conn.execute("SET session_replication_role = replica")
        self.artifact_root = artifact_root.rstrip("/")
        self.experiment_ids: list[int] = []
        self.dropped = self._drop_secondary_indexes()

    def _drop_secondary_indexes(self) -> list[str]:
        """Drop the indexes no constraint owns (rebuilt in ``finish``: one sort beats a million
        index insertions); returns their definitions."""
        rows = self.conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = ANY(%s) "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)",
            (list(self.tables),),
        ).fetchall()
        for name, _ in rows:
            self.conn.execute(f'DROP INDEX "{name}"')
        self.conn.commit()
        return [definition for _, definition in rows]

    experiment_extra: tuple[tuple[str, str], ...] = ()  # (column, value) beyond modelyard's

    def experiments(self, count: int) -> list[int]:
        """Insert ``count`` experiments (the big one first) after any there are; their ids."""
        row = self.conn.execute("SELECT coalesce(max(experiment_id), 0) + 1 FROM experiments").fetchone()
        first = int(row[0]) if row else 1
        ids = list(range(first, first + count))
        names = ["scale-big"] + [f"scale-{n:04d}" for n in range(1, count)]
        extra_columns = tuple(column for column, _ in self.experiment_extra)
        extra_values = tuple(value for _, value in self.experiment_extra)
        _copy(
            self.conn,
            "experiments",
            EXPERIMENT_COLUMNS + extra_columns,
            (
                (e, n, f"{self.artifact_root}/{e}", "active", BASE_MS, BASE_MS, *extra_values)
                for e, n in zip(ids, names, strict=True)
            ),
        )
        self.conn.execute(_SETVAL)
        self.conn.commit()
        self.experiment_ids = ids
        return ids

    def write(self, chunk: Chunk) -> None:
        exp = self.experiment_ids
        _copy(
            self.conn,
            "runs",
            MODELYARD_RUN_COLUMNS,
            (
                (r, exp[e], name, user, "FINISHED", start, end, end, "active", self._artifacts(exp[e], r))
                for r, e, name, user, start, end in chunk.runs
            ),
        )
        _copy(self.conn, "params", ("run_id", "key", "value"), iter(chunk.params))
        _copy(self.conn, "tags", ("run_id", "key", "value"), iter(chunk.tags))
        _copy(self.conn, "metrics", ("run_id", "key", "value", "timestamp", "step"), iter(chunk.metrics))
        _copy(self.conn, "latest_metrics", ("run_id", "key", "value", "timestamp", "step"), iter(chunk.latest))
        self.conn.commit()

    def _artifacts(self, experiment_id: int, run_id: str) -> str:
        return f"{self.artifact_root}/{experiment_id}/{run_id}/artifacts"

    def finish(self) -> None:
        self.conn.autocommit = True
        self.conn.execute("SET maintenance_work_mem = '256MB'")
        for definition in self.dropped:
            self.conn.execute(definition)
        for table in self.tables:
            self.conn.execute(f'VACUUM ANALYZE "{table}"')
        self.conn.close()


class MlflowWriter(ModelyardWriter):
    """COPY into the tables MLflow's ``SqlAlchemyStore`` creates, in the rows its client writes."""

    name = "mlflow"
    experiment_extra = (("workspace", "default"),)

    def write(self, chunk: Chunk) -> None:
        exp = self.experiment_ids
        _copy(
            self.conn,
            "runs",
            MLFLOW_RUN_COLUMNS,
            (
                (r, name, "LOCAL", "", "", user, "FINISHED", start, end, "", "active", self._artifacts(exp[e], r), x)
                for r, e, name, user, start, end in chunk.runs
                for x in (exp[e],)
            ),
        )
        _copy(self.conn, "params", ("run_uuid", "key", "value"), iter(chunk.params))
        client_tags = [
            (r, key, value)
            for r, _, name, user, _, _ in chunk.runs
            for key, value in (("mlflow.runName", name), ("mlflow.user", user))
        ]
        _copy(self.conn, "tags", ("run_uuid", "key", "value"), iter([*chunk.tags, *client_tags]))
        _copy(
            self.conn,
            "metrics",
            ("run_uuid", "key", "value", "timestamp", "step", "is_nan"),
            ((*row, False) for row in chunk.metrics),
        )
        _copy(
            self.conn,
            "latest_metrics",
            ("run_uuid", "key", "value", "timestamp", "step", "is_nan"),
            ((*row, False) for row in chunk.latest),
        )
        self.conn.commit()


def fill(plan: Plan, *, modelyard: str | None, mlflow: str | None, artifact_root: str, fresh: bool = True) -> Filled:
    """Create the schemas (on fresh databases unless ``fresh=False``) and write the whole history."""
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
    for writer in writers:
        filled.experiment_ids[writer.name] = writer.experiments(plan.experiments)
        filled.seconds[writer.name] = 0.0
    generating = 0.0
    started = time.perf_counter()
    for chunk, with_history in chunks(plan):
        generating += time.perf_counter() - started
        filled.history_run_ids.extend(with_history)
        for writer in writers:
            begun = time.perf_counter()
            writer.write(chunk)
            filled.seconds[writer.name] += time.perf_counter() - begun
        started = time.perf_counter()
    filled.seconds["generate"] = generating
    for writer in writers:
        begun = time.perf_counter()
        writer.finish()
        filled.seconds[writer.name] += time.perf_counter() - begun
    return filled


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
    filled = fill(plan, modelyard=args.modelyard, mlflow=args.mlflow, artifact_root=args.artifact_root)
    for name, seconds in filled.seconds.items():
        print(f"{name}: {seconds:,.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
