"""Feature definitions (every version) and materialization watermarks.

A definition's current state is its highest version; ``removed`` versions are kept as history
and hidden from ``current``.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, Row, and_, func, select

from modelyard.domain.features import DefinitionKind, RegisteredDefinition
from modelyard.store.repos._upsert import upsert
from modelyard.store.tables.features import feature_definitions as defs
from modelyard.store.tables.features import feature_watermarks as marks


def _record(row: Row[Any]) -> RegisteredDefinition:
    return RegisteredDefinition(
        kind=DefinitionKind(row.kind),
        name=row.name,
        version=int(row.version),
        digest=row.digest,
        spec=json.loads(row.spec),
        created_at=int(row.created_at),
        created_by=row.created_by,
        removed=bool(row.removed),
    )


def current(conn: Connection, kind: DefinitionKind | None = None) -> list[RegisteredDefinition]:
    """The latest version of every definition (of ``kind``) that is not removed, by kind and name."""
    latest = select(defs.c.kind, defs.c.name, func.max(defs.c.version).label("version")).group_by(
        defs.c.kind, defs.c.name
    )
    if kind is not None:
        latest = latest.where(defs.c.kind == kind.value)
    sub = latest.subquery()
    stmt = (
        select(defs)
        .join(sub, and_(defs.c.kind == sub.c.kind, defs.c.name == sub.c.name, defs.c.version == sub.c.version))
        .where(defs.c.removed.is_(False))
        .order_by(defs.c.kind, defs.c.name)
    )
    return [_record(r) for r in conn.execute(stmt)]


def history(conn: Connection, kind: DefinitionKind, name: str) -> list[RegisteredDefinition]:
    """Every version of one definition, oldest first (removals included)."""
    stmt = select(defs).where(defs.c.kind == kind.value, defs.c.name == name).order_by(defs.c.version)
    return [_record(r) for r in conn.execute(stmt)]


def latest_version(conn: Connection, kind: DefinitionKind, name: str) -> int:
    stmt = select(func.max(defs.c.version)).where(defs.c.kind == kind.value, defs.c.name == name)
    value = conn.execute(stmt).scalar()
    return 0 if value is None else int(value)


def add(conn: Connection, record: RegisteredDefinition) -> None:
    conn.execute(
        defs.insert().values(
            kind=record.kind.value,
            name=record.name,
            version=record.version,
            digest=record.digest,
            spec=json.dumps(record.spec, sort_keys=True),
            removed=record.removed,
            created_at=record.created_at,
            created_by=record.created_by,
        )
    )


def watermark(conn: Connection, view: str) -> int | None:
    value = conn.execute(select(marks.c.watermark_ms).where(marks.c.view == view)).scalar()
    return None if value is None else int(value)


def set_watermark(conn: Connection, view: str, watermark_ms: int, *, now_ms: int) -> None:
    upsert(
        conn,
        marks,
        [{"view": view, "watermark_ms": watermark_ms, "updated_at": now_ms}],
        keys=("view",),
        update=("watermark_ms", "updated_at"),
    )
