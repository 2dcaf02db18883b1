"""A tag filter (``tags.<key> = value``) in the terms of the tag tables' (key, value) indexes."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Connection, Table, Text, func, literal


def tag_equals(conn: Connection, table: Table, key: str, value: str) -> ColumnElement[bool]:
    """``table``'s tag ``key`` holds ``value``. On PostgreSQL the index holds ``md5(value)`` (a
    value may be too long for a btree entry), so the condition also compares that, which the
    planner matches to the index; the value itself is still compared."""
    matches = (table.c.key == key) & (table.c.value == value)
    if conn.dialect.name == "postgresql":
        return matches & (func.md5(table.c.value) == func.md5(literal(value, Text())))
    return matches
