"""How fast ``runs gc --purge-deleted`` removes deleted runs: a one-off measurement, not a test.

Fills a fresh database (PostgreSQL by default, SQLite with ``--sqlite``) with ``--runs`` deleted
runs, each with 10 params, 2 tags, 10 metrics (history row and latest value) and a 1 KB artifact
file, written in bulk (not through the SDK), then times ``RunPurgeService.purge_deleted`` and
prints runs per second, rows removed and bytes freed. Usage::

    python benchmarks/purge.py --runs 10000 \\
        --postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from modelyard.store.artifacts import ArtifactStore
from modelyard.store.db import Database
from modelyard.store.migration import ensure_schema
from modelyard.tracking import ExperimentService, RunPurgeService

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--postgres", default=os.environ.get("MODELYARD_TEST_POSTGRES_URL"))
    parser.add_argument("--sqlite", action="store_true", help="measure on a SQLite file instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cleanup = None
        if args.sqlite or not args.postgres:
            url = f"sqlite:///{tmp}/store.db"
        else:
            url, cleanup = _fresh_postgres(args.postgres)
        db = Database(url)
        ensure_schema(db)
        store = ArtifactStore(f"{tmp}/artifacts")
        started = time.perf_counter()
        _fill(db, store, args.runs)
        print(f"filled {args.runs:,} deleted runs in {time.perf_counter() - started:.1f} s ({db.dialect})")
        purge = RunPurgeService(db, store, actor="bench")
        started = time.perf_counter()
        report = purge.purge_deleted(older_than_ms=86_400_000)
        elapsed = time.perf_counter() - started
        rows = sum(report.rows_removed.values())
        print(
            f"purged {len(report.purged):,} runs in {elapsed:.1f} s ({len(report.purged) / elapsed:,.0f} runs/s): "
            f"{rows:,} rows, {report.artifact_bytes / 1e6:.1f} MB of artifacts; kept {len(report.kept)}"
        )
        db.dispose()
        if cleanup is not None:
            engine, name = cleanup
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            engine.dispose()


if __name__ == "__main__":
    main()
