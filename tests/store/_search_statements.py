"""The SELECT statements a run search sends, for tests that ask the database how it would run them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from modelyard.domain.search import RunQuery
from modelyard.store.db import Database
from modelyard.store.repos.run_search import search_run_ids


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
