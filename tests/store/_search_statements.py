"""For tests that ask the database how it would run a run search: the store they search (filled in
bulk) and the SELECT statements a search sends."""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import event

from modelyard.domain.search import RunQuery
from modelyard.store.db import Database
from modelyard.store.repos.run_search import search_run_ids
from modelyard.store.tables import experiments, latest_metrics, params, runs


def search_statements(db: Database, query: RunQuery) -> tuple[list[str], list[tuple[str, Any]]]:
    """The page ``query`` finds, and each (statement, parameters) the search executed to find it."""
    captured: list[tuple[str, Any]] = []

    def capture(conn: object, cursor: object, statement: str, parameters: Any, *_: object) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            captured.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        with db.read() as conn:
            ids = search_run_ids(conn, query)
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    return ids, captured


def fill_search_store(db: Database, runs_by_experiment: Sequence[int]) -> None:
    """Finished runs for plan tests, written in bulk: ``runs_by_experiment[i]`` is the experiment of
    run ``i`` (experiments created as needed); each run has a ``model`` param (rf, gbm, lr in turn)
    and ``auc``/``loss`` latest metrics, every 50th without ``auc``; start times follow the order."""
    rng = random.Random(7)
    run_rows: list[dict[str, Any]] = []
    param_rows: list[dict[str, Any]] = []
    metric_rows: list[dict[str, Any]] = []
    for i, experiment_id in enumerate(runs_by_experiment):
        run_id = uuid.uuid4().hex
        run_rows.append(
            {"run_id": run_id, "experiment_id": experiment_id, "run_name": f"r{i}", "user": "u",
             "status": "FINISHED", "start_time": i, "end_time": i + 1, "heartbeat_time": i,
             "lifecycle_stage": "active", "artifact_uri": f"/tmp/plans/{run_id}"}
        )  # fmt: skip
        param_rows.append({"run_id": run_id, "key": "model", "value": ("rf", "gbm", "lr")[i % 3]})
        keys = ("loss",) if i % 50 == 0 else ("auc", "loss")
        metric_rows.extend({"run_id": run_id, "key": k, "value": rng.random(), "timestamp": i, "step": 0} for k in keys)
    with db.begin() as conn:
        conn.execute(
            experiments.insert(),
            [
                {"experiment_id": e, "name": f"plans-{e}", "artifact_location": f"/tmp/plans/{e}",
                 "lifecycle_stage": "active", "creation_time": 0, "last_update_time": 0}
                for e in sorted(set(runs_by_experiment))
            ],
        )  # fmt: skip
        conn.execute(runs.insert(), run_rows)
        conn.execute(params.insert(), param_rows)
        conn.execute(latest_metrics.insert(), metric_rows)
