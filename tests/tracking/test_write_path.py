"""The tracking write path's round trips and statement reuse, on SQLite and PostgreSQL.

A run's start, params and end run on every run a user logs; these pin down how many statements
they send for the tracking tables and that SQLAlchemy's compiled cache serves them (a literal
value built into a statement would make each call a new cache entry).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from modelyard.domain.tracking import Metric, RunStatus
from tracking.conftest import Tracking

_TRACKING_TABLE = re.compile(r"\b(?:INTO|FROM|UPDATE|COPY)\s+(runs|params|tags|metrics|latest_metrics|experiments)\b")


@contextmanager
def statements(tracking: Tracking) -> Iterator[list[tuple[str, str, Any]]]:
    """Collect ``(table, first word, cache status)`` for each statement on a tracking table."""
    seen: list[tuple[str, str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        found = _TRACKING_TABLE.search(statement)
        if found:
            cached = context.cache_hit if context is not None and context.compiled is not None else None
            seen.append((found.group(1), statement.split()[0].upper(), cached))

    event.listen(tracking.db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(tracking.db.engine, "before_cursor_execute", record)


def _metrics(n: int) -> list[Metric]:
    return [Metric(key=f"m{i % 3}", value=float(i), timestamp=1_000 + i, step=i) for i in range(n)]


def test_new_params_take_one_statement_and_a_repeat_one_more(tracking: Tracking) -> None:
    run_id = tracking.new_run()
    with statements(tracking) as seen:
        tracking.runs.log_params(run_id, {"lr": 0.1, "depth": 3, "model": "rf"})
    assert [s[:2] for s in seen if s[0] == "params"] == [("params", "INSERT")]
    with statements(tracking) as seen:
        tracking.runs.log_params(run_id, {"lr": 0.1, "seed": 7})  # 'lr' again, same value: fine
    assert [s[:2] for s in seen if s[0] == "params"] == [("params", "INSERT"), ("params", "SELECT")]
    assert tracking.runs.get(run_id).data.params == {"lr": "0.1", "depth": "3", "model": "rf", "seed": "7"}


def test_ending_a_run_stores_its_metrics_in_one_or_two_statements_however_many(tracking: Tracking) -> None:
    run_id = tracking.new_run()
    with statements(tracking) as seen:
        tracking.runs.end(run_id, RunStatus.FINISHED, metrics=_metrics(50))
    writes = [s[:2] for s in seen if s[0] in ("metrics", "latest_metrics")]
    if tracking.db.dialect == "postgresql":  # one statement of arrays: history (a CTE) and latest values
        assert writes == [("metrics", "WITH")]
    else:
        assert writes == [("metrics", "INSERT"), ("latest_metrics", "INSERT")]
    assert len(tracking.metrics.history(run_id, "m0")) == 17
    assert tracking.runs.get(run_id).data.metrics == {"m0": 48.0, "m1": 49.0, "m2": 47.0}


def test_a_second_run_reuses_every_compiled_statement(tracking: Tracking) -> None:
    def one_run(i: int) -> None:
        run_id = tracking.new_run(tags={"round": i})
        tracking.runs.log_params(run_id, {"model": "rf", "i": i})
        tracking.runs.set_tags(run_id, {"note": f"run {i}"})
        tracking.runs.end(run_id, RunStatus.FINISHED, metrics=_metrics(3 + i))
        tracking.runs.get(run_id)

    one_run(0)
    with statements(tracking) as seen:
        one_run(1)
    compiled = [s for s in seen if s[2] is not None]
    # PostgreSQL writes and reads metrics through the driver (COPY, arrays), prepared by psycopg.
    raw = {"latest_metrics"} if tracking.db.dialect == "postgresql" else set()
    assert {s[0] for s in compiled} >= {"runs", "params", "tags", "experiments", "latest_metrics"} - raw
    hit = tracking.db.engine.dialect.CACHE_HIT
    assert [s for s in compiled if s[2] != hit] == []
