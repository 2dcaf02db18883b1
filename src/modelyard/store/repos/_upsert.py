"""INSERT … ON CONFLICT DO UPDATE for the two engines we run on, written once.

The statement is built once per (dialect, table, keys, update, where) and reused: building it
(``excluded`` especially) cost SQLAlchemy more than the database spent running it, and every
metric flush and tag write goes through here. ``where`` is part of that key, so pass a
module-level function, not a fresh lambda per call (a fresh one is still correct, only rebuilt).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Connection, Insert, Table
from sqlalchemy.dialects import sqlite

if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql

Condition = Callable[[Table, Any], ColumnElement[bool]]


def upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    keys: Sequence[str],
    update: Sequence[str],
    where: Condition | None = None,
) -> None:
    """Insert ``rows``; on a key clash update the ``update`` columns (only where ``where`` holds),
    or keep the stored row when ``update`` is empty.

    ``where`` is a callable ``(table, excluded) -> ColumnElement`` so the condition can compare the
    stored row with the incoming one (``excluded``) on either dialect.
    """
    if not rows:
        return
    stmt = upsert_statement(conn.dialect.name, table, tuple(keys), tuple(update), where)
    conn.execute(stmt, rows if isinstance(rows, list) else list(rows))


@lru_cache(maxsize=128)
def upsert_statement(
    dialect_name: str, table: Table, keys: tuple[str, ...], update: tuple[str, ...], where: Condition | None
) -> Insert:
    """The upsert for ``dialect_name`` (``postgresql``, else SQLite), built on first use."""
    stmt: postgresql.Insert | sqlite.Insert
    if dialect_name == "postgresql":
        # Imported here: loading the PostgreSQL dialect costs a SQLite CLI call about 0.1 s.
        from sqlalchemy.dialects import postgresql

        stmt = postgresql.insert(table)
    else:
        stmt = sqlite.insert(table)
    if not update:
        return stmt.on_conflict_do_nothing(index_elements=list(keys))
    condition = where(table, stmt.excluded) if where else None
    return stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_={col: stmt.excluded[col] for col in update},
        where=condition,
    )
