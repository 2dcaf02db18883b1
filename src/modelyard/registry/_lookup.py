"""Lookups every registry service needs, each failing with the same ``NotFound`` message."""

from __future__ import annotations

from sqlalchemy import Connection

from modelyard.domain.registry import ModelVersion, RegisteredModel
from modelyard.errors import NotFound
from modelyard.store.repos import model_versions as version_rows
from modelyard.store.repos import registered_models as model_rows


def require_model(conn: Connection, name: str) -> RegisteredModel:
    found = model_rows.get(conn, name)
    if found is None:
        raise NotFound(f"no registered model named {name!r}")
    return found


def lock_model(conn: Connection, name: str, *, now_ms: int) -> None:
    """Serialise writers of one model's versions, aliases and stages for this transaction."""
    if not model_rows.lock(conn, name, now_ms=now_ms):
        raise NotFound(f"no registered model named {name!r}")


def require_version(conn: Connection, name: str, version: int) -> ModelVersion:
    found = version_rows.get(conn, name, version)
    if found is None:
        if model_rows.get(conn, name) is None:
            raise NotFound(f"no registered model named {name!r}")
        raise NotFound(f"registered model {name!r} has no version {version}")
    return found
