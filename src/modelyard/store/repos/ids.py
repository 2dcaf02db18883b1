"""One resolver for the ids users type: a full id or a unique prefix of 4 or more hex digits."""

from __future__ import annotations

from sqlalchemy import Column, Connection, select

from modelyard.errors import InvalidInput, NotFound
from modelyard.ids import check_id_prefix


def resolve_prefix(conn: Connection, column: Column[str], text: str, what: str) -> str:
    """The one id in ``column`` that ``text`` is or starts; ``what`` names the record in messages
    ("a run", "an alert"). ``NotFound`` for none, ``InvalidInput`` for a malformed or ambiguous one."""
    prefix = check_id_prefix(text, what)
    if len(prefix) == 32:
        found = list(conn.execute(select(column).where(column == prefix)).scalars())
    else:  # hex only, so the LIKE pattern holds no wildcard
        found = list(conn.execute(select(column).where(column.like(f"{prefix}%")).order_by(column).limit(2)).scalars())
    noun = what.split(" ", 1)[-1]
    if not found:
        raise NotFound(f"no {noun} with id {text!r}")
    if len(found) > 1:
        raise InvalidInput(f"{noun} id prefix {text!r} is ambiguous; give more digits")
    return str(found[0])
