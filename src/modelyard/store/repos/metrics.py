"""Metric history and each metric's latest value.

The latest value is the one at the highest step, then the latest timestamp (MLflow's rule), kept
in ``latest_metrics`` by an upsert in the same transaction as the history rows.

Statements are built once at import (values go in as bound parameters), so a call costs only
its execution: every run's end flushes its last metrics through ``insert``. On PostgreSQL a batch
and its latest values go in as arrays, in one statement (``_pg_bulk``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Connection, Dialect, Table, bindparam, func, or_, select

from modelyard.domain.tracking import Metric
from modelyard.store.repos import _pg_bulk
from modelyard.store.repos._upsert import upsert
from modelyard.store.tables import latest_metrics, metrics

NAN = float("nan")

_HISTORY = (
    select(metrics.c.key, metrics.c.value, metrics.c.timestamp, metrics.c.step)
    .where((metrics.c.run_id == bindparam("run_id")) & (metrics.c.key == bindparam("key")))
    .order_by(metrics.c.step, metrics.c.timestamp, metrics.c.id)
)
_LATEST = select(latest_metrics.c.run_id, latest_metrics.c.key, latest_metrics.c.value).where(
    latest_metrics.c.run_id.in_(bindparam("run_ids", expanding=True))
)
_COUNT = select(func.count()).where(metrics.c.run_id == bindparam("run_id"))
_LATEST_KEY = ("run_id", "key")
_LATEST_UPDATE = ("value", "timestamp", "step")


def _newer(table: Table, new: Any) -> ColumnElement[bool]:
    """The incoming value replaces the latest one at a higher step, or the same step and no older."""
    return or_(new.step > table.c.step, (new.step == table.c.step) & (new.timestamp >= table.c.timestamp))


def _stored(value: float) -> float | None:
    return None if math.isnan(value) else value


def _loaded(value: float | None) -> float:
    return NAN if value is None else float(value)


def insert(conn: Connection, run_id: str, batch: Sequence[Metric]) -> None:
    """Append ``batch`` to the history and move each key's latest value forward where newer."""
    if not batch:
        return
    if conn.dialect.name == "postgresql":
        _insert_postgresql(conn, run_id, batch)
        return
    # A batch is up to thousands of rows: hand SQLite plain tuples, skipping SQLAlchemy's
    # per-row parameter processing (most of the cost of a large batch). Same statement.
    conn.exec_driver_sql(
        _compiled_insert(conn.dialect),
        [(run_id, m.key, _stored(m.value), m.timestamp, m.step) for m in batch],
    )
    upsert(
        conn,
        latest_metrics,
        [
            {"run_id": run_id, "key": m.key, "value": _stored(m.value), "timestamp": m.timestamp, "step": m.step}
            for m in _newest(batch)
        ],
        keys=_LATEST_KEY,
        update=_LATEST_UPDATE,
        where=_newer,
    )


def _newest(batch: Sequence[Metric]) -> list[Metric]:
    """Each key's latest value in ``batch`` (highest step, then latest timestamp, then last logged)."""
    newest: dict[str, Metric] = {}
    for m in batch:
        held = newest.get(m.key)
        if held is None or (m.step, m.timestamp) >= (held.step, held.timestamp):
            newest[m.key] = m
    return list(newest.values())


_COLUMNS = ("run_id", "key", "value", "timestamp", "step")

# One statement, one round trip, whatever the number of values: the history rows and each key's
# latest value go in as bound arrays (``unnest`` makes the rows) and a data-modifying CTE appends
# the history while the outer INSERT upserts the latest values. ``COPY`` took a round trip of
# its own plus one for the upsert, and was no faster per row at the sizes a batch has.
_PG_INSERT = """
WITH history AS (
    INSERT INTO metrics (run_id, key, value, timestamp, step)
    SELECT %(run_id)s, h.key, h.value, h.timestamp, h.step
    FROM unnest(%(keys)s::varchar[], %(values)s::float8[], %(timestamps)s::bigint[], %(steps)s::bigint[])
        AS h(key, value, timestamp, step)
)
INSERT INTO latest_metrics AS held (run_id, key, value, timestamp, step)
SELECT %(run_id)s, u.key, u.value, u.timestamp, u.step
FROM unnest(%(latest_keys)s::varchar[], %(latest_values)s::float8[], %(latest_timestamps)s::bigint[],
            %(latest_steps)s::bigint[]) AS u(key, value, timestamp, step)
ON CONFLICT (run_id, key) DO UPDATE
SET value = excluded.value, timestamp = excluded.timestamp, step = excluded.step
WHERE excluded.step > held.step OR (excluded.step = held.step AND excluded.timestamp >= held.timestamp)
"""


def _insert_postgresql(conn: Connection, run_id: str, batch: Sequence[Metric]) -> None:
    """The history and the latest values in one statement of arrays."""
    newest = _newest(batch)
    _pg_bulk.execute(
        conn,
        _PG_INSERT,
        {
            "run_id": run_id,
            "keys": _pg_bulk.text_array(m.key for m in batch),
            "values": _pg_bulk.float_array(_stored(m.value) for m in batch),
            "timestamps": _pg_bulk.int_array(m.timestamp for m in batch),
            "steps": _pg_bulk.int_array(m.step for m in batch),
            "latest_keys": _pg_bulk.text_array(m.key for m in newest),
            "latest_values": _pg_bulk.float_array(_stored(m.value) for m in newest),
            "latest_timestamps": _pg_bulk.int_array(m.timestamp for m in newest),
            "latest_steps": _pg_bulk.int_array(m.step for m in newest),
        },
    )


@cache
def _compiled_insert(dialect: Dialect) -> str:
    """The history INSERT as the dialect spells it, taking positional parameters in ``_COLUMNS`` order."""
    compiled = metrics.insert().compile(dialect=dialect, column_keys=list(_COLUMNS))
    assert compiled.positiontup == list(_COLUMNS), compiled.positiontup
    return str(compiled)


_PG_HISTORY = (
    'SELECT value, "timestamp", step FROM metrics WHERE run_id = %s AND key = %s ORDER BY step, "timestamp", id'
)


def history(conn: Connection, run_id: str, key: str) -> list[Metric]:
    """Every value logged for ``key``, by step then time then insertion."""
    if conn.dialect.name == "postgresql":  # plain tuples: a history runs to millions of points
        return [
            Metric(key=key, value=NAN if value is None else value, timestamp=timestamp, step=step)
            for value, timestamp, step in _pg_bulk.fetch(conn, _PG_HISTORY, (run_id, key))
        ]
    rows = conn.execute(_HISTORY, {"run_id": run_id, "key": key})
    return [Metric(key=r.key, value=_loaded(r.value), timestamp=r.timestamp, step=r.step) for r in rows]


# A history as three columns: COPY's binary format, read into numpy arrays without a Python object
# per point. NaN is stored as NULL; coalescing it back keeps every row the same width (38 bytes:
# a field count, then a length and 8 bytes per column), so the rows are one strided array.
_PG_HISTORY_COPY = (
    "COPY (SELECT step, \"timestamp\", coalesce(value, 'NaN'::float8) FROM metrics"
    ' WHERE run_id = %s AND key = %s ORDER BY step, "timestamp", id) TO STDOUT (FORMAT binary)'
)
_COPY_HEADER = 19  # signature (11), flags (4), header extension length (4)
_COPY_TRAILER = 2  # a field count of -1


def history_columns(conn: Connection, run_id: str, key: str) -> tuple[Any, Any, Any]:
    """``key``'s history as numpy arrays (steps, timestamps, values), in ``history``'s order."""
    import numpy as np

    if conn.dialect.name == "postgresql":
        raw: Any = conn.connection.driver_connection
        with raw.cursor() as cur:
            _pg_bulk.announce(conn, cur, _PG_HISTORY_COPY, (run_id, key))
            with cur.copy(_PG_HISTORY_COPY, (run_id, key)) as copy:
                data = b"".join(bytes(chunk) for chunk in copy)
        row = np.dtype(
            [("n", ">i2"), ("l1", ">i4"), ("step", ">i8"), ("l2", ">i4"), ("ts", ">i8"), ("l3", ">i4"), ("v", ">f8")]
        )
        rows = np.frombuffer(
            data, dtype=row, offset=_COPY_HEADER, count=(len(data) - _COPY_HEADER - _COPY_TRAILER) // row.itemsize
        )
        return rows["step"].astype(np.int64), rows["ts"].astype(np.int64), rows["v"].astype(np.float64)
    found = conn.execute(_HISTORY, {"run_id": run_id, "key": key}).all()
    values = np.array([NAN if r.value is None else r.value for r in found], dtype=np.float64)
    return (
        np.array([r.step for r in found], dtype=np.int64),
        np.array([r.timestamp for r in found], dtype=np.int64),
        values,
    )


_PG_LATEST = _pg_bulk.per_run("run_id, key, value", "latest_metrics")


def latest_values(conn: Connection, run_ids: Sequence[str]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    if conn.dialect.name == "postgresql":
        for run_id, key, value in _pg_bulk.fetch(conn, _PG_LATEST, [list(run_ids)]):
            out.setdefault(run_id, {})[key] = _loaded(value)
        return out
    rows = conn.execute(_LATEST, {"run_ids": list(run_ids)})
    for r in rows:
        out.setdefault(r.run_id, {})[r.key] = _loaded(r.value)
    return out


# Each metric's latest values over many runs as two arrays (row numbers, values), sent in their binary
# form (``array_send``): numpy reads them without a Python object per value. The runs are looked up
# one by one (a LATERAL that ``OFFSET 0`` keeps from being flattened): with the ids as one array
# parameter the planner otherwise hashes the whole table, 5 s instead of 1.4 s for 3,000,000 values.
_PG_LATEST_COLUMNS = (
    "SELECT m.key, array_send(array_agg(ids.i::int4)), array_send(array_agg(coalesce(m.value, 'NaN'::float8)))"
    " FROM unnest(%s::varchar[]) WITH ORDINALITY AS ids(run_id, i)"
    " CROSS JOIN LATERAL (SELECT key, value FROM latest_metrics WHERE run_id = ids.run_id OFFSET 0) AS m"
    " GROUP BY m.key"
)
_ARRAY_HEADER = 20  # a one-dimensional array: ndim, flags, element type, then its length and lower bound


def latest_columns(conn: Connection, run_ids: Sequence[str]) -> dict[str, tuple[Any, Any]]:
    """Each metric's latest values over ``run_ids`` on PostgreSQL: key -> (0-based positions in
    ``run_ids``, values), as numpy arrays."""
    import numpy as np

    int4s = np.dtype([("length", ">i4"), ("value", ">i4")])  # an array's elements: a length, then the value
    float8s = np.dtype([("length", ">i4"), ("value", ">f8")])
    out: dict[str, tuple[Any, Any]] = {}
    for key, sent_rows, sent_values in _pg_bulk.fetch(
        conn, _PG_LATEST_COLUMNS, [_pg_bulk.text_array(run_ids)], binary=True
    ):
        rows = np.frombuffer(sent_rows, dtype=int4s, offset=_ARRAY_HEADER)["value"].astype(np.int64) - 1
        out[key] = (rows, np.frombuffer(sent_values, dtype=float8s, offset=_ARRAY_HEADER)["value"].astype(np.float64))
    return out


def count(conn: Connection, run_id: str) -> int:
    return int(conn.execute(_COUNT, {"run_id": run_id}).scalar_one())
