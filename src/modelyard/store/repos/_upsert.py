"""INSERT … ON CONFLICT DO UPDATE for the two engines we run on, written once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    keys: Sequence[str],
    update: Sequence[str],
    where: Any = None,
) -> None:
    """Insert ``rows``; on a key clash update the ``update`` columns (only where ``where`` holds),
    or keep the stored row when ``update`` is empty.

    ``where`` is a callable ``(table, excluded) -> ColumnElement`` so the condition can compare the
    stored row with the incoming one (``excluded``) on either dialect.
    """
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table)
    if not update:
        conn.execute(stmt.on_conflict_do_nothing(index_elements=list(keys)), list(rows))
        return
    condition: ColumnElement[bool] | None = where(table, stmt.excluded) if where else None
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_={col: stmt.excluded[col] for col in update},
        where=condition,
    )
    conn.execute(stmt, list(rows))
