"""Identifiers: random, URL-safe, sortable enough to read in a log."""

from __future__ import annotations

import uuid

from modelyard.errors import InvalidInput


def new_run_id() -> str:
    """A 32-character hex id, the same shape MLflow uses, so ids move between the two."""
    return uuid.uuid4().hex


def new_id() -> str:
    """A generic random id for records other than runs."""
    return uuid.uuid4().hex


MIN_PREFIX = 4
_HEX = frozenset("0123456789abcdef")


def check_id_prefix(text: str, what: str) -> str:
    """``text`` as a lowercase hex id or id prefix (4 to 32 digits), the form every table shows.

    Ids users type (runs, alerts, schedules, in the CLI and in ``runs:/`` URIs) all go through this
    and ``modelyard.store.repos.ids.resolve_prefix``, so each accepts the same spellings.
    """
    normalized = text.strip().lower()
    if not MIN_PREFIX <= len(normalized) <= 32 or not set(normalized) <= _HEX:
        raise InvalidInput(f"{text!r} is not {what} id (32 hex digits, or a unique prefix of {MIN_PREFIX} or more)")
    return normalized
