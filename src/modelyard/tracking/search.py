"""Run search: parse the user's filter and order, page through matching runs.

The language is in ``search_grammar``; the SQL in ``store.repos.run_search``; this module owns
the rules between them: limits, page tokens and which experiments are searched.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any

from modelyard.domain.search import RunQuery, ViewType
from modelyard.domain.tracking import PagedList, Run, RunColumns
from modelyard.errors import InvalidInput
from modelyard.store.db import Database
from modelyard.store.repos import run_search
from modelyard.store.repos import runs as run_rows
from modelyard.tracking.search_grammar import parse_filter, parse_order_by

MAX_RESULTS_LIMIT = 50_000
SEARCH_TIMEOUT_S = 30.0
"""A search statement running longer is stopped (any viewer can send a filter)."""


def encode_page_token(after: Sequence[Any]) -> str:
    """A token naming where the next page starts: the sort keys of the last run shown (keyset
    paging: the next page's statement starts past them, whatever the page's depth)."""
    return base64.urlsafe_b64encode(json.dumps({"after": list(after)}).encode()).decode()


def decode_page_token(token: str | None) -> tuple[int, tuple[Any, ...] | None]:
    """``(offset, after)``: a keyset token gives its keys; a token of an earlier version (an
    offset) is still honoured."""
    if not token:
        return 0, None
    invalid = InvalidInput(f"invalid page token {token!r}; pass the token a previous search returned")
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError, TypeError):
        raise invalid from None
    if isinstance(data, dict) and isinstance(data.get("after"), list):
        if not all(v is None or isinstance(v, str | int | float) for v in data["after"]):
            raise invalid
        return 0, tuple(data["after"])
    offset = data.get("offset") if isinstance(data, dict) else None
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise invalid
    return offset, None


def view_type(value: ViewType | str) -> ViewType:
    try:
        return value if isinstance(value, ViewType) else ViewType(str(value).upper())
    except ValueError:
        raise InvalidInput(f"unknown run view {value!r}; use ACTIVE_ONLY, DELETED_ONLY or ALL") from None


class RunSearchService:
    """``search_runs`` with MLflow's arguments, plus OR, NOT and parentheses in filters."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def search(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        *,
        max_results: int = 1000,
        page_token: str | None = None,
        view: ViewType | str = ViewType.ACTIVE_ONLY,
    ) -> PagedList[Run]:
        if not 1 <= max_results <= MAX_RESULTS_LIMIT:
            raise InvalidInput(f"max_results must be between 1 and {MAX_RESULTS_LIMIT}, got {max_results}")
        if isinstance(order_by, str):
            order_by = [order_by]
        offset, after = decode_page_token(page_token)
        query = RunQuery(
            experiment_ids=tuple(str(e) for e in experiment_ids),
            filter=parse_filter(filter_string),
            order_by=parse_order_by(order_by),
            view=view_type(view),
            max_results=max_results + 1,  # one more tells whether a next page exists
            offset=offset,
            after=after,
        )
        with self._db.read() as conn:
            found = run_search.search_runs(conn, query, timeout_s=SEARCH_TIMEOUT_S)
            has_more = len(found) > max_results
            runs = run_rows.get_many(conn, [f.run_id for f in found[:max_results]])
        return PagedList(runs, encode_page_token(found[max_results - 1].keys) if has_more else None)

    def search_columns(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        *,
        max_results: int = 100_000,
        view: ViewType | str = ViewType.ACTIVE_ONLY,
    ) -> RunColumns:
        """Up to ``max_results`` matching runs as columns (what ``search_runs`` returns as a
        DataFrame): one search and one read, whatever the number of runs; no page limit, since no
        object is built per value."""
        if max_results < 1:
            raise InvalidInput(f"max_results must be at least 1, got {max_results}")
        if isinstance(order_by, str):
            order_by = [order_by]
        query = RunQuery(
            experiment_ids=tuple(str(e) for e in experiment_ids),
            filter=parse_filter(filter_string),
            order_by=parse_order_by(order_by),
            view=view_type(view),
            max_results=max_results,
        )
        with self._db.read() as conn:
            found = run_search.search_runs(conn, query, timeout_s=SEARCH_TIMEOUT_S)
            return run_rows.get_columns(conn, [f.run_id for f in found])
