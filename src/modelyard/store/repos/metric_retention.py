"""Metric downsampling: a long history reduced to the points that draw the same curve.

Each (run, key) history longer than ``3 x buckets`` values is split into ``buckets`` equal ranges
of steps; in each range the rows holding the lowest value, the highest value and the last value
(highest step, then latest timestamp, then last logged) stay and every other row goes. The rows
kept are the logged ones, unchanged (their step, time and value), so a chart of the history keeps
its envelope and its end, and the latest value (``latest_metrics``) is untouched: it is the last
row of the last range. NaN (stored NULL) counts as neither lowest nor highest.

One statement per run does it with window functions, the same on SQLite (3.25+) and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, select, text
from sqlalchemy.exc import OperationalError

from modelyard.domain.tracking import LifecycleStage, RunStatus
from modelyard.store.tables import runs

# Rows of one run that downsampling removes: those neither lowest, highest nor last in their range.
_DROPPED = """
WITH spans AS (
    SELECT key, min(step) AS low, max(step) - min(step) + 1 AS width
    FROM metrics WHERE run_id = :run_id GROUP BY key HAVING count(*) > 3 * :buckets
),
ranked AS (
    SELECT m.id,
        row_number() OVER (PARTITION BY m.key, b.bucket ORDER BY m.value IS NULL, m.value, m.id) AS lowest,
        row_number() OVER (PARTITION BY m.key, b.bucket ORDER BY m.value IS NULL, m.value DESC, m.id) AS highest,
        row_number() OVER (PARTITION BY m.key, b.bucket ORDER BY m.step DESC, m."timestamp" DESC, m.id DESC) AS last
    FROM metrics m
    JOIN spans s ON s.key = m.key
    CROSS JOIN LATERAL (SELECT ((m.step - s.low) * :buckets) / s.width AS bucket) b
    WHERE m.run_id = :run_id
)
SELECT id FROM ranked WHERE lowest > 1 AND highest > 1 AND last > 1
"""
_SQLITE_DROPPED = _DROPPED.replace(
    "CROSS JOIN LATERAL (SELECT ((m.step - s.low) * :buckets) / s.width AS bucket) b",
    "JOIN (SELECT 0) b ON 1",  # SQLite has no LATERAL: the bucket is spelled out where used
).replace("b.bucket", "((m.step - s.low) * :buckets) / s.width")

_COUNT_DROPPED = "SELECT count(*) FROM ({dropped}) AS dropped"
_DELETE_DROPPED = "DELETE FROM metrics WHERE id IN ({dropped})"


def _dropped(conn: Connection) -> str:
    return _DROPPED if conn.dialect.name == "postgresql" else _SQLITE_DROPPED


def ended_before(conn: Connection, cutoff_ms: int) -> list[str]:
    """Ids of the runs that ended (any status but RUNNING) before ``cutoff_ms``, oldest first."""
    query = (
        select(runs.c.run_id)
        .where(
            runs.c.status != RunStatus.RUNNING.value,
            runs.c.end_time.is_not(None),
            runs.c.end_time < bindparam("cutoff"),
            runs.c.lifecycle_stage.in_([LifecycleStage.ACTIVE.value, LifecycleStage.DELETED.value]),
        )
        .order_by(runs.c.end_time, runs.c.run_id)
    )
    return list(conn.execute(query, {"cutoff": cutoff_ms}).scalars())


def count_dropped(conn: Connection, run_id: str, buckets: int) -> int:
    """How many of ``run_id``'s metric rows downsampling to ``buckets`` ranges would remove."""
    statement = text(_COUNT_DROPPED.format(dropped=_dropped(conn)))
    return int(conn.execute(statement, {"run_id": run_id, "buckets": buckets}).scalar_one())


def drop(conn: Connection, run_id: str, buckets: int) -> int:
    """Remove the rows of ``run_id``'s histories that ``buckets`` ranges do not keep; how many."""
    statement = text(_DELETE_DROPPED.format(dropped=_dropped(conn)))
    return int(conn.execute(statement, {"run_id": run_id, "buckets": buckets}).rowcount or 0)


def bytes_per_row(conn: Connection) -> float | None:
    """The metric history's storage (table and indexes) per row, from the engine's own figures;
    ``None`` when the engine cannot tell (SQLite built without ``dbstat``)."""
    if conn.dialect.name == "postgresql":
        row: Any = conn.execute(
            text(
                "SELECT pg_total_relation_size('metrics'), greatest(reltuples, 0) FROM pg_class "
                "WHERE oid = 'metrics'::regclass"
            )
        ).one()
        size, tuples = float(row[0]), float(row[1])
        if tuples <= 0:  # never analysed: count (the size is what matters, not the precision)
            tuples = float(conn.execute(text("SELECT count(*) FROM metrics")).scalar_one())
        return size / tuples if tuples else None
    try:
        size = conn.execute(
            text("SELECT sum(pgsize) FROM dbstat WHERE name IN ('metrics', 'ix_metrics_history')")
        ).scalar_one()
    except OperationalError:  # dbstat is a compile-time option of SQLite
        return None
    count = int(conn.execute(text("SELECT count(*) FROM metrics")).scalar_one())
    return float(size) / count if size and count else None


def history_lengths(conn: Connection, run_ids: Sequence[str]) -> int:
    """Metric rows of ``run_ids`` in all."""
    if not run_ids:
        return 0
    statement = text("SELECT count(*) FROM metrics WHERE run_id IN :ids").bindparams(bindparam("ids", expanding=True))
    return int(conn.execute(statement, {"ids": list(run_ids)}).scalar_one())
