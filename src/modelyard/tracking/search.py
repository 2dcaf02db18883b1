"""Run search: parse the user's filter and order, page through matching runs.

The language is in ``search_grammar``; the SQL in ``store.repos.run_search``; this module owns
the rules between them: limits, page tokens and which experiments are searched.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence

from modelyard.domain.search import RunQuery, ViewType
from modelyard.domain.tracking import PagedList, Run
from modelyard.errors import InvalidInput
from modelyard.store.db import Database
from modelyard.store.repos import run_search
from modelyard.store.repos import runs as run_rows
from modelyard.tracking.search_grammar import parse_filter, parse_order_by

MAX_RESULTS_LIMIT = 50_000
SEARCH_TIMEOUT_S = 30.0
"""A search statement running longer is stopped (any viewer can send a filter)."""


def encode_page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_page_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise InvalidInput(f"invalid page token {token!r}; pass the token a previous search returned") from None
    if not isinstance(offset, int) or offset < 0:
        raise InvalidInput(f"invalid page token {token!r}; pass the token a previous search returned")
    return offset


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
        query = RunQuery(
            experiment_ids=tuple(str(e) for e in experiment_ids),
            filter=parse_filter(filter_string),
            order_by=parse_order_by(order_by),
            view=view_type(view),
            max_results=max_results + 1,  # one more tells whether a next page exists
            offset=decode_page_token(page_token),
        )
        with self._db.read() as conn:
            ids = run_search.search_run_ids(conn, query, timeout_s=SEARCH_TIMEOUT_S)
            has_more = len(ids) > max_results
            runs = run_rows.get_many(conn, ids[:max_results])
        return PagedList(runs, encode_page_token(query.offset + max_results) if has_more else None)
