"""Registered models with their tags, aliases and version counter (the registered-model aggregate).

Every change to a model's versions first calls ``lock``: it updates the model's row, which on
PostgreSQL holds a row lock until commit (SQLite's write transactions are already serial), so two
writers touching one model's versions or aliases never interleave.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, Row, exists, func, select, update
from sqlalchemy.exc import IntegrityError

from modelyard.domain.registry import RegisteredModel
from modelyard.errors import AlreadyExists
from modelyard.store.repos._tag_match import tag_equals
from modelyard.store.repos._upsert import upsert
from modelyard.store.tables import (
    model_aliases,
    model_version_tags,
    model_versions,
    registered_model_tags,
    registered_models,
)


@dataclass(frozen=True, kw_only=True)
class ModelFilter:
    """What ``search`` keeps: every set condition must hold (AND)."""

    name_equals: str | None = None
    name_like: str | None = None
    name_ilike: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


def insert(conn: Connection, *, name: str, description: str, now_ms: int) -> None:
    """Create a registered model; a taken name is ``AlreadyExists``."""
    try:
        conn.execute(
            registered_models.insert().values(
                name=name, description=description, creation_time=now_ms, last_updated_time=now_ms, next_version=1
            )
        )
    except IntegrityError as exc:
        raise AlreadyExists(f"a registered model named {name!r} already exists") from exc


def ensure(conn: Connection, *, name: str, now_ms: int) -> None:
    """Create the model unless it exists; safe when another transaction creates it at the same time."""
    row = {"name": name, "description": "", "creation_time": now_ms, "last_updated_time": now_ms, "next_version": 1}
    upsert(conn, registered_models, [row], keys=("name",), update=())


def lock(conn: Connection, name: str, *, now_ms: int) -> bool:
    """Take the model's row lock for this transaction (and mark it updated); ``False`` if it is missing."""
    result = conn.execute(
        update(registered_models).where(registered_models.c.name == name).values(last_updated_time=now_ms)
    )
    return bool(result.rowcount)


def allocate_version(conn: Connection, name: str) -> int:
    """The next version number of ``name``; the counter moves in this transaction and never goes back."""
    conn.execute(
        update(registered_models)
        .where(registered_models.c.name == name)
        .values(next_version=registered_models.c.next_version + 1)
    )
    after = conn.execute(select(registered_models.c.next_version).where(registered_models.c.name == name)).scalar_one()
    return int(after) - 1


def get(conn: Connection, name: str) -> RegisteredModel | None:
    row = conn.execute(select(registered_models).where(registered_models.c.name == name)).first()
    if row is None:
        return None
    return _assemble(conn, [row])[0]


def search(conn: Connection, where: ModelFilter, *, max_results: int, offset: int) -> list[RegisteredModel]:
    """Models matching ``where``, by name."""
    stmt = select(registered_models)
    if where.name_equals is not None:
        stmt = stmt.where(registered_models.c.name == where.name_equals)
    if where.name_like is not None:
        stmt = stmt.where(registered_models.c.name.like(where.name_like))
    if where.name_ilike is not None:
        stmt = stmt.where(func.lower(registered_models.c.name).like(where.name_ilike.lower()))
    for key, value in where.tags.items():
        stmt = stmt.where(
            exists().where(
                registered_model_tags.c.name == registered_models.c.name,
                tag_equals(conn, registered_model_tags, key, value),
            )
        )
    rows = conn.execute(stmt.order_by(registered_models.c.name).limit(max_results).offset(offset)).all()
    return _assemble(conn, rows)


def set_description(conn: Connection, name: str, description: str, *, now_ms: int) -> None:
    conn.execute(
        update(registered_models)
        .where(registered_models.c.name == name)
        .values(description=description, last_updated_time=now_ms)
    )


def set_tag(conn: Connection, name: str, key: str, value: str) -> None:
    upsert(
        conn,
        registered_model_tags,
        [{"name": name, "key": key, "value": value}],
        keys=("name", "key"),
        update=("value",),
    )


def delete_tag(conn: Connection, name: str, key: str) -> bool:
    result = conn.execute(
        registered_model_tags.delete().where(
            (registered_model_tags.c.name == name) & (registered_model_tags.c.key == key)
        )
    )
    return bool(result.rowcount)


def delete(conn: Connection, name: str) -> None:
    """Remove the model with its versions, tags and aliases (children first, for the foreign keys)."""
    conn.execute(model_aliases.delete().where(model_aliases.c.name == name))
    conn.execute(model_version_tags.delete().where(model_version_tags.c.name == name))
    conn.execute(model_versions.delete().where(model_versions.c.name == name))
    conn.execute(registered_model_tags.delete().where(registered_model_tags.c.name == name))
    conn.execute(registered_models.delete().where(registered_models.c.name == name))


# -- aliases --------------------------------------------------------------------------------------


def set_alias(conn: Connection, name: str, alias: str, version: int) -> None:
    """Point ``alias`` at ``version``, moving it off any other version in the same statement."""
    upsert(
        conn,
        model_aliases,
        [{"name": name, "alias": alias, "version": version}],
        keys=("name", "alias"),
        update=("version",),
    )


def delete_alias(conn: Connection, name: str, alias: str) -> bool:
    result = conn.execute(
        model_aliases.delete().where((model_aliases.c.name == name) & (model_aliases.c.alias == alias))
    )
    return bool(result.rowcount)


def alias_version(conn: Connection, name: str, alias: str) -> int | None:
    value = conn.execute(
        select(model_aliases.c.version).where((model_aliases.c.name == name) & (model_aliases.c.alias == alias))
    ).scalar_one_or_none()
    return None if value is None else int(value)


def _assemble(conn: Connection, rows: Sequence[Row]) -> list[RegisteredModel]:  # type: ignore[type-arg]
    names = [r.name for r in rows]
    if not names:
        return []
    tags: dict[str, dict[str, str]] = {}
    for t in conn.execute(select(registered_model_tags).where(registered_model_tags.c.name.in_(names))):
        tags.setdefault(t.name, {})[t.key] = t.value
    aliases: dict[str, dict[str, int]] = {}
    for a in conn.execute(select(model_aliases).where(model_aliases.c.name.in_(names)).order_by(model_aliases.c.alias)):
        aliases.setdefault(a.name, {})[a.alias] = int(a.version)
    latest: dict[str, int] = {}
    for name, top in conn.execute(
        select(model_versions.c.name, func.max(model_versions.c.version))
        .where(model_versions.c.name.in_(names))
        .group_by(model_versions.c.name)
    ):
        latest[name] = int(top)
    return [
        RegisteredModel(
            name=r.name,
            description=r.description,
            creation_time=r.creation_time,
            last_updated_time=r.last_updated_time,
            tags=tags.get(r.name, {}),
            aliases=aliases.get(r.name, {}),
            latest_version=latest.get(r.name),
        )
        for r in rows
    ]
