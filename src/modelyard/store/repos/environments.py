"""Captured software environments, stored once per distinct content and shared by runs."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, select

from modelyard.store.repos._upsert import upsert
from modelyard.store.tables import environments


def put(conn: Connection, *, digest: str, python_version: str, platform: str, packages: dict[str, str]) -> None:
    """Store an environment unless one with the same digest is already there (race-free)."""
    row = {
        "digest": digest,
        "python_version": python_version,
        "platform": platform,
        "packages": json.dumps(packages, sort_keys=True),
    }
    upsert(conn, environments, [row], keys=("digest",), update=())


def get(conn: Connection, digest: str) -> dict[str, Any] | None:
    row = conn.execute(select(environments).where(environments.c.digest == digest)).first()
    if row is None:
        return None
    return {
        "digest": row.digest,
        "python_version": row.python_version,
        "platform": row.platform,
        "packages": json.loads(row.packages),
    }
