"""Purging deleted runs: ``runs gc --purge-deleted`` vs ``mlflow gc``, each on a SQLite file of its own.

Each store gets the same deleted runs (10 params, 2 tags, 10 metrics with their latest values and a
1 KB artifact file each), written in bulk into its own tables (not through the SDK loop); then each
tool's own purge is timed until every run's rows and folder are gone: modelyard's
``RunPurgeService.purge_deleted`` (what the CLI runs) and MLflow's ``gc`` command, in-process. Both
stores are checked empty afterwards. ``python benchmarks/purge.py --runs 10000 --postgres URL``
measures modelyard alone on PostgreSQL.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

import mlflow
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import modelyard as my
from benchmarks._common import Case, Options, print_table
from modelyard.store.artifacts import ArtifactStore
from modelyard.store.db import Database
from modelyard.store.migration import ensure_schema
from modelyard.tracking import ExperimentService, RunPurgeService

TITLE = "Purging deleted runs: modelyard vs MLflow, each on its own SQLite file"
INCUMBENT = f"MLflow {mlflow.__version__}"
RUNS = 2_000

logging.getLogger("mlflow").setLevel(logging.WARNING)
logging.getLogger("alembic").setLevel(logging.WARNING)
warnings.filterwarnings("ignore", module=r"mlflow(\.|$)")

OLD_MS = 1_700_000_000_000


def _fresh_postgres(admin_url: str) -> tuple[str, Any]:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"modelyard_purge_{uuid.uuid4().hex[:10]}"
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), (engine, name)


def _fill(db: Database, store: ArtifactStore, runs: int) -> None:
    experiment = ExperimentService(db, store, actor="bench").create("purge-bench")
    location = f"{store.root_uri}/{experiment}"
    run_rows, params, tags, metrics, latest = [], [], [], [], []
    for i in range(runs):
        run_id = uuid.uuid4().hex
        uri = f"{location}/{run_id}/artifacts"
        run_rows.append(
            {"run_id": run_id, "experiment_id": int(experiment), "run_name": f"r{i}", "user": "bench",
             "status": "FINISHED", "start_time": OLD_MS, "end_time": OLD_MS + 1, "lifecycle_stage": "deleted",
             "artifact_uri": uri, "deleted_time": OLD_MS + 2}
        )  # fmt: skip
        params += [{"run_id": run_id, "key": f"p{k}", "value": str(k)} for k in range(10)]
        tags += [{"run_id": run_id, "key": k, "value": "x"} for k in ("team", "mlflow.runName")]
        metrics += [{"run_id": run_id, "key": f"m{k}", "value": 0.5, "timestamp": OLD_MS, "step": 0} for k in range(10)]
        latest += [{"run_id": run_id, "key": f"m{k}", "value": 0.5, "timestamp": OLD_MS, "step": 0} for k in range(10)]
        folder = Path(uri)
        folder.mkdir(parents=True)
        (folder / "notes.txt").write_bytes(b"x" * 1024)
    with db.begin() as conn:
        conn.execute(
            text(
                'INSERT INTO runs (run_id, experiment_id, run_name, "user", status, start_time, end_time, '
                "lifecycle_stage, artifact_uri, deleted_time) VALUES (:run_id, :experiment_id, :run_name, :user, "
                ":status, :start_time, :end_time, :lifecycle_stage, :artifact_uri, :deleted_time)"
            ),
            run_rows,
        )
        conn.execute(text("INSERT INTO params (run_id, key, value) VALUES (:run_id, :key, :value)"), params)
        conn.execute(text("INSERT INTO tags (run_id, key, value) VALUES (:run_id, :key, :value)"), tags)
        for table, rows in (("metrics", metrics), ("latest_metrics", latest)):
            conn.execute(
                text(
                    f'INSERT INTO {table} (run_id, key, value, "timestamp", step) '
                    "VALUES (:run_id, :key, :value, :timestamp, :step)"
                ),
                rows,
            )


def versions() -> dict[str, Any]:
    return {"modelyard_version": my.__version__, "mlflow_version": mlflow.__version__}


def _fill_mlflow(uri: str, root: Path, runs: int) -> None:
    """The same deleted runs in the tables MLflow's ``SqlAlchemyStore`` creates."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    store = SqlAlchemyStore(uri, str(root))
    experiment = store.create_experiment("purge-bench", artifact_location=str(root / "mlflow-artifacts"))
    rows: dict[str, list[dict[str, Any]]] = {"runs": [], "params": [], "tags": [], "metrics": [], "latest_metrics": []}
    for i in range(runs):
        run_id = uuid.uuid4().hex
        artifacts = f"{root}/mlflow-artifacts/{run_id}/artifacts"
        rows["runs"].append(
            {"run_uuid": run_id, "name": f"r{i}", "source_type": "LOCAL", "source_name": "", "entry_point_name": "",
             "user_id": "bench", "status": "FINISHED", "start_time": OLD_MS, "end_time": OLD_MS + 1,
             "source_version": "", "lifecycle_stage": "deleted", "artifact_uri": artifacts,
             "experiment_id": int(experiment), "deleted_time": OLD_MS + 2}
        )  # fmt: skip
        rows["params"] += [{"run_uuid": run_id, "key": f"p{k}", "value": str(k)} for k in range(10)]
        rows["tags"] += [{"run_uuid": run_id, "key": k, "value": "x"} for k in ("team", "mlflow.runName")]
        for table in ("metrics", "latest_metrics"):
            rows[table] += [
                {"run_uuid": run_id, "key": f"m{k}", "value": 0.5, "timestamp": OLD_MS, "step": 0, "is_nan": False}
                for k in range(10)
            ]
        folder = Path(artifacts)
        folder.mkdir(parents=True)
        (folder / "notes.txt").write_bytes(b"x" * 1024)
    with store.engine.begin() as conn:
        for table, values in rows.items():
            columns = list(values[0])
            names = ", ".join(columns)
            conn.execute(text(f"INSERT INTO {table} ({names}) VALUES ({', '.join(':' + c for c in columns)})"), values)
    store.engine.dispose()


def _purge_modelyard(url: str, root: Path, runs: int) -> tuple[float, int]:
    db = Database(url)
    ensure_schema(db)
    store = ArtifactStore(str(root / "modelyard-artifacts"))
    _fill(db, store, runs)
    started = time.perf_counter()
    report = RunPurgeService(db, store, actor="bench").purge_deleted()
    seconds = time.perf_counter() - started
    with db.read() as conn:
        left = int(conn.execute(text("SELECT count(*) FROM runs")).scalar_one())
    db.dispose()
    assert len(report.purged) == runs and left == 0, (len(report.purged), left)
    return seconds, len(report.purged)


def _purge_mlflow(uri: str, root: Path, runs: int) -> tuple[float, int]:
    from mlflow.cli import gc

    _fill_mlflow(uri, root, runs)
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # a line per run deleted
        gc.main(["--backend-store-uri", uri, "--tracking-uri", uri], standalone_mode=False)
    seconds = time.perf_counter() - started
    engine = create_engine(uri)
    with engine.connect() as conn:
        left = int(conn.execute(text("SELECT count(*) FROM runs")).scalar_one())
    engine.dispose()
    folders = list((root / "mlflow-artifacts").glob("*/artifacts"))
    assert left == 0 and not folders, (left, len(folders))
    return seconds, runs


def run(options: Options) -> list[Case]:
    runs = options.n(RUNS, 100)
    with tempfile.TemporaryDirectory(prefix="modelyard-bench-purge-") as tmp:
        root = Path(tmp)
        mine, purged = _purge_modelyard(f"sqlite:///{root}/modelyard.db", root, runs)
        theirs, _ = _purge_mlflow(f"sqlite:///{root}/mlflow.db", root, runs)
    return [
        Case(
            name=f"purge {runs:,} deleted runs (10 params, 2 tags, 10 metrics, a 1 KB file each)",
            unit="runs/s",
            modelyard=purged / mine,
            incumbent=runs / theirs,
            higher_is_better=True,
            note=f"modelyard {mine:.2f} s (RunPurgeService.purge_deleted), MLflow {theirs:.2f} s (mlflow gc)",
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--postgres", help="measure modelyard alone on this PostgreSQL server")
    args = parser.parse_args()
    if not args.postgres:
        print_table(TITLE, INCUMBENT, run(Options(scale=args.runs / RUNS)))
        return
    url, (engine, name) = _fresh_postgres(args.postgres)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            seconds, purged = _purge_modelyard(url, Path(tmp), args.runs)
            print(f"PostgreSQL: purged {purged:,} runs in {seconds:.1f} s ({purged / seconds:,.0f} runs/s)")
        finally:
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            engine.dispose()


if __name__ == "__main__":
    main()
