"""Several processes on one store, on SQLite and PostgreSQL: nothing lost, schema made once.

The children are forked from the test process (real OS processes with their own connections and
writer threads), so the test pays for eight interpreters' work, not eight interpreters' imports;
a barrier releases them together so they really contend.
"""

from __future__ import annotations

import multiprocessing
import time
import traceback
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from modelyard.config import Settings
from modelyard.sdk.client import Client
from modelyard.store.db import Database
from modelyard.store.migration import current_revision, ensure_schema, head_revision
from modelyard.store.tables import metrics, runs

PROCESSES = 8
VALUES = 1000
_fork = multiprocessing.get_context("fork")


def _settings(store_url: str, tmp: str) -> Settings:
    return Settings(
        home=Path(tmp) / "home",
        store_uri=store_url,
        artifact_uri=str(Path(tmp) / "artifacts"),
        capture_environment=False,
        metric_batch_size=100,
        metric_flush_interval_s=0.05,
    )


def _log_worker(store_url: str, tmp: str, barrier: Any, results: Any, index: int) -> None:
    try:
        barrier.wait(timeout=120)
        client = Client(_settings(store_url, tmp))
        experiment_id = client.backend.experiments.get_or_create("concurrent").experiment_id
        run = client.create_run(experiment_id)
        for step in range(VALUES):
            client.log_metric(run.info.run_id, "loss", 1.0 / (step + 1), step=step, synchronous=False)
        client.set_terminated(run.info.run_id)
        results.put(("ok", run.info.run_id))
    except BaseException:
        results.put(("error", traceback.format_exc()))


def _schema_worker(store_url: str, tmp: str, barrier: Any, results: Any, index: int) -> None:
    try:
        db = Database(store_url)
        barrier.wait(timeout=120)
        # Spread the first look over the time one upgrade takes, so some processes find the
        # schema half made (each revision commits on its own) rather than absent or complete.
        time.sleep(index * 0.04)
        created = ensure_schema(db)
        client = Client(_settings(store_url, tmp))
        run = client.create_run(client.backend.experiments.get_or_create("race").experiment_id)
        client.log_metric(run.info.run_id, "alive", 1.0)
        client.set_terminated(run.info.run_id)
        results.put(("ok", created))
    except BaseException:
        results.put(("error", traceback.format_exc()))


def _run_all(target: Any, store_url: str, tmp_path: Path) -> list[Any]:
    barrier = _fork.Barrier(PROCESSES)
    results = _fork.Queue()
    procs = [
        _fork.Process(target=target, args=(store_url, str(tmp_path), barrier, results, index))
        for index in range(PROCESSES)
    ]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=240) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
    errors = [detail for status, detail in outcomes if status != "ok"]
    assert not errors, "a process failed:\n" + "\n".join(errors)
    assert [proc.exitcode for proc in procs] == [0] * PROCESSES
    return [detail for _, detail in outcomes]


@pytest.mark.slow
def test_eight_processes_log_into_one_store(store_url: str, tmp_path: Path) -> None:
    run_ids = set(_run_all(_log_worker, store_url, tmp_path))
    assert len(run_ids) == PROCESSES
    db = Database(store_url)
    try:
        with db.read() as conn:
            counts = select(metrics.c.run_id, func.count()).where(metrics.c.run_id.in_(run_ids))
            per_run = {run_id: n for run_id, n in conn.execute(counts.group_by(metrics.c.run_id)).all()}
            steps = conn.execute(select(func.count(func.distinct(metrics.c.step)))).scalar_one()
            statuses = set(conn.execute(select(runs.c.status).where(runs.c.run_id.in_(run_ids))).scalars())
    finally:
        db.dispose()
    assert per_run == {run_id: VALUES for run_id in run_ids}
    assert sum(per_run.values()) == PROCESSES * VALUES
    assert steps == VALUES
    assert statuses == {"FINISHED"}


@pytest.mark.slow
@pytest.mark.empty_store
def test_eight_processes_on_a_brand_new_store_create_the_schema_once(store_url: str, tmp_path: Path) -> None:
    created = _run_all(_schema_worker, store_url, tmp_path)
    assert sorted(created) == [False] * (PROCESSES - 1) + [True]
    db = Database(store_url)
    try:
        assert current_revision(db) == head_revision()
        with db.read() as conn:
            finished = conn.execute(select(func.count()).select_from(runs).where(runs.c.status == "FINISHED"))
            assert finished.scalar_one() == PROCESSES
    finally:
        db.dispose()
