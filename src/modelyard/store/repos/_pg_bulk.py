"""PostgreSQL's bulk paths, for the writes that carry many rows per call.

SQLAlchemy's ``executemany`` sends one INSERT per row (pipelined by psycopg, but still parsed,
planned and executed row by row on the server): a 1,000-metric ``log_batch`` took about 100 ms
that way. A statement that binds one array per column (``unnest``) is planned once whatever the
batch size, and ``pipelined`` sends several statements in one round trip. All run on the
connection of the caller's transaction, so they commit or roll back with it, and all are announced
to SQLAlchemy's cursor events like any statement (tracing and statement counters see them).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection


def float_array(values: Iterable[float | None]) -> str:
    """``values`` as a PostgreSQL array literal (``{1.5,inf,NULL}``) for a ``%s::float8[]``
    parameter: built with one ``join``, where psycopg's pure-Python list adaptation spent about a
    millisecond per thousand values, as long as the server took to store them. ``repr`` round-trips
    a float exactly; PostgreSQL reads ``inf`` and ``-inf``."""
    return "{" + ",".join("NULL" if v is None else repr(float(v)) for v in values) + "}"


def int_array(values: Iterable[int]) -> str:
    """``values`` as an array literal for a ``%s::bigint[]`` parameter."""
    return "{" + ",".join(map(str, map(int, values))) + "}"


def text_array(values: Iterable[str]) -> str:
    """``values`` as an array literal for a ``%s::varchar[]`` parameter: each element quoted, with
    its backslashes and double quotes escaped (commas, braces and spaces are then literal)."""
    return "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"


def per_run(columns: str, table: str) -> str:
    """A statement reading ``columns`` of ``table``'s rows for each run id of one array parameter,
    by one index look-up per id. ``run_id = ANY(%s)`` reads the same rows, but with thousands of
    ids the planner expects a large share of the table and scans all of it: 1.7 s on 20,000,000
    params for the 90,000 rows of 30,000 runs, where the look-ups take 0.1 s. ``OFFSET 0`` keeps
    the LATERAL from being flattened into that same join."""
    return (
        "SELECT found.* FROM unnest(%s::varchar[]) AS ids(run_id)"
        f" CROSS JOIN LATERAL (SELECT {columns} FROM {table} WHERE run_id = ids.run_id OFFSET 0) AS found"
    )


def fetch(conn: Connection, sql: str, params: Sequence[Any], *, named: bool = False, binary: bool = False) -> list[Any]:
    """Every row of ``sql`` as plain tuples (named tuples with ``named``), read with the driver's
    ``fetchall``: no per-row result objects, which cost more than the rows for a page of runs.
    ``binary`` asks for the binary result format (``bytea`` then arrives as it is, not as hex)."""
    from psycopg.rows import namedtuple_row, tuple_row

    raw: Any = conn.connection.driver_connection
    with raw.cursor(row_factory=namedtuple_row if named else tuple_row) as cur:
        announce(conn, cur, sql, params)
        cur.execute(sql, params, binary=binary)
        return list(cur.fetchall())


def pipelined(conn: Connection, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
    """Run ``statements`` in order in one round trip (psycopg's pipeline mode), inside ``conn``'s
    transaction; the rows of the last one, as plain tuples. Each statement still takes its own
    snapshot, so one that follows a lock sees what was committed while the lock was awaited."""
    from psycopg import Pipeline

    raw: Any = conn.connection.driver_connection
    cursors = []
    # libpq before 14 has no pipeline mode: the statements then go one after the other.
    with raw.pipeline() if Pipeline.is_supported() else contextlib.nullcontext():
        for sql, params in statements:
            cur = raw.cursor()
            announce(conn, cur, sql, params)
            cur.execute(sql, params)
            cursors.append(cur)
    try:
        return list(cursors[-1].fetchall())
    finally:
        for cur in cursors:
            cur.close()


def execute(conn: Connection, sql: str, params: Sequence[Any] | Mapping[str, Any]) -> None:
    """``sql`` with positional ``%s`` parameters on the raw psycopg connection (prepared after a few
    calls, by psycopg), inside ``conn``'s transaction."""
    raw: Any = conn.connection.driver_connection
    with raw.cursor() as cur:
        announce(conn, cur, sql, params)
        cur.execute(sql, params)


def announce(conn: Connection, cursor: Any, statement: str, params: Sequence[Any] | Mapping[str, Any]) -> None:
    """Fire ``before_cursor_execute`` (no execution context: the statement is not SQLAlchemy's)."""
    if conn.engine.dispatch.before_cursor_execute or conn.dispatch.before_cursor_execute:
        conn.dispatch.before_cursor_execute(conn, cursor, statement, params, None, False)
