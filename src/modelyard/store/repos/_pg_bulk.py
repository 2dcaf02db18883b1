"""PostgreSQL's bulk paths, for the writes that carry many rows per call.

SQLAlchemy's ``executemany`` sends one INSERT per row (pipelined by psycopg, but still parsed,
planned and executed row by row on the server): a 1,000-metric ``log_batch`` took about 100 ms
that way. ``COPY … FROM STDIN`` streams the rows in one command, and a multi-row upsert binds
one array per column (``unnest``), so the server plans a single statement whatever the batch size.
Both run on the connection of the caller's transaction, so they commit or roll back with it, and
both are announced to SQLAlchemy's cursor events like any statement (tracing and statement
counters see them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection


def copy_rows(conn: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """``COPY table (columns) FROM STDIN`` with ``rows``, inside ``conn``'s transaction (``table``
    and ``columns`` are the schema's names, never user input)."""
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    raw: Any = conn.connection.driver_connection
    with raw.cursor() as cur:
        _announce(conn, cur, statement, ())
        with cur.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)


def fetch(conn: Connection, sql: str, params: Sequence[Any], *, named: bool = False) -> list[Any]:
    """Every row of ``sql`` as plain tuples (named tuples with ``named``), read with the driver's
    ``fetchall``: no per-row result objects, which cost more than the rows for a page of runs."""
    from psycopg.rows import namedtuple_row, tuple_row

    raw: Any = conn.connection.driver_connection
    with raw.cursor(row_factory=namedtuple_row if named else tuple_row) as cur:
        _announce(conn, cur, sql, params)
        cur.execute(sql, params)
        return list(cur.fetchall())


def execute(conn: Connection, sql: str, params: Sequence[Any]) -> None:
    """``sql`` with positional ``%s`` parameters on the raw psycopg connection (prepared after a few
    calls, by psycopg), inside ``conn``'s transaction."""
    raw: Any = conn.connection.driver_connection
    with raw.cursor() as cur:
        _announce(conn, cur, sql, params)
        cur.execute(sql, params)


def _announce(conn: Connection, cursor: Any, statement: str, params: Sequence[Any]) -> None:
    """Fire ``before_cursor_execute`` (no execution context: the statement is not SQLAlchemy's)."""
    if conn.engine.dispatch.before_cursor_execute or conn.dispatch.before_cursor_execute:
        conn.dispatch.before_cursor_execute(conn, cursor, statement, params, None, False)
