"""Identifiers: random, URL-safe, sortable enough to read in a log."""

from __future__ import annotations

import uuid


def new_run_id() -> str:
    """A 32-character hex id, the same shape MLflow uses, so ids move between the two."""
    return uuid.uuid4().hex


def new_id() -> str:
    """A generic random id for records other than runs."""
    return uuid.uuid4().hex
