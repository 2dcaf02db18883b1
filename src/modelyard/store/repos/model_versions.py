"""Model versions with their tags; each row points at one logged model (joined in on read)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, Row, exists, select, update

from modelyard.domain.registry import ModelStage, ModelVersion
from modelyard.store.repos._tag_match import tag_equals
from modelyard.store.repos._upsert import upsert
from modelyard.store.tables import logged_models, model_aliases, model_version_tags, model_versions


@dataclass(frozen=True, kw_only=True)
class VersionFilter:
    """What ``search`` keeps: every set condition must hold (AND)."""

    names: Sequence[str] | None = None
    name_like: str | None = None
    run_id: str | None = None
    model_id: str | None = None
    stages: Sequence[ModelStage] | None = None
    tags: dict[str, str] = field(default_factory=dict)


def insert(
    conn: Connection,
    *,
    name: str,
    version: int,
    model_id: str,
    source: str,
    description: str,
    now_ms: int,
) -> None:
    conn.execute(
        model_versions.insert().values(
            name=name,
            version=version,
            model_id=model_id,
            source=source,
            stage=ModelStage.NONE.value,
            description=description,
            creation_time=now_ms,
            last_updated_time=now_ms,
        )
    )


def get(conn: Connection, name: str, version: int) -> ModelVersion | None:
    found = search(conn, VersionFilter(names=[name]), versions=[version], max_results=1, offset=0)
    return found[0] if found else None


def search(
    conn: Connection,
    where: VersionFilter,
    *,
    max_results: int,
    offset: int,
    versions: Sequence[int] | None = None,
) -> list[ModelVersion]:
    """Versions matching ``where``, by name then newest version first."""
    stmt = select(
        model_versions,
        logged_models.c.run_id,
        logged_models.c.storage_uri,
        logged_models.c.flavor,
        logged_models.c.digest,
    ).join(logged_models, logged_models.c.model_id == model_versions.c.model_id)
    if where.names is not None:
        stmt = stmt.where(model_versions.c.name.in_(list(where.names)))
    if where.name_like is not None:
        stmt = stmt.where(model_versions.c.name.like(where.name_like))
    if versions is not None:
        stmt = stmt.where(model_versions.c.version.in_(list(versions)))
    if where.run_id is not None:
        stmt = stmt.where(logged_models.c.run_id == where.run_id)
    if where.model_id is not None:
        stmt = stmt.where(model_versions.c.model_id == where.model_id)
    if where.stages is not None:
        stmt = stmt.where(model_versions.c.stage.in_([s.value for s in where.stages]))
    for key, value in where.tags.items():
        stmt = stmt.where(
            exists().where(
                model_version_tags.c.name == model_versions.c.name,
                model_version_tags.c.version == model_versions.c.version,
                tag_equals(conn, model_version_tags, key, value),
            )
        )
    stmt = stmt.order_by(model_versions.c.name, model_versions.c.version.desc()).limit(max_results).offset(offset)
    return _assemble(conn, conn.execute(stmt).all())


def set_stage(conn: Connection, name: str, versions: Sequence[int], stage: ModelStage, *, now_ms: int) -> None:
    if versions:
        conn.execute(
            update(model_versions)
            .where((model_versions.c.name == name) & model_versions.c.version.in_(list(versions)))
            .values(stage=stage.value, last_updated_time=now_ms)
        )


def set_description(conn: Connection, name: str, version: int, description: str, *, now_ms: int) -> None:
    conn.execute(
        update(model_versions)
        .where((model_versions.c.name == name) & (model_versions.c.version == version))
        .values(description=description, last_updated_time=now_ms)
    )


def set_tags(conn: Connection, name: str, version: int, values: dict[str, str]) -> None:
    upsert(
        conn,
        model_version_tags,
        [{"name": name, "version": version, "key": k, "value": v} for k, v in values.items()],
        keys=("name", "version", "key"),
        update=("value",),
    )


def delete_tag(conn: Connection, name: str, version: int, key: str) -> bool:
    result = conn.execute(
        model_version_tags.delete().where(
            (model_version_tags.c.name == name)
            & (model_version_tags.c.version == version)
            & (model_version_tags.c.key == key)
        )
    )
    return bool(result.rowcount)


def delete(conn: Connection, name: str, version: int) -> None:
    """Remove a version with its tags and the aliases pointing at it."""
    for table in (model_aliases, model_version_tags, model_versions):
        conn.execute(table.delete().where((table.c.name == name) & (table.c.version == version)))


def _assemble(conn: Connection, rows: Sequence[Row]) -> list[ModelVersion]:  # type: ignore[type-arg]
    if not rows:
        return []
    names = sorted({r.name for r in rows})
    wanted = {(r.name, r.version) for r in rows}
    tags: dict[tuple[str, int], dict[str, str]] = {}
    for t in conn.execute(select(model_version_tags).where(model_version_tags.c.name.in_(names))):
        if (t.name, t.version) in wanted:
            tags.setdefault((t.name, t.version), {})[t.key] = t.value
    aliases: dict[tuple[str, int], list[str]] = {}
    for a in conn.execute(select(model_aliases).where(model_aliases.c.name.in_(names)).order_by(model_aliases.c.alias)):
        aliases.setdefault((a.name, a.version), []).append(a.alias)
    return [
        ModelVersion(
            name=r.name,
            version=int(r.version),
            source=r.source,
            run_id=r.run_id,
            model_id=r.model_id,
            storage_uri=r.storage_uri,
            flavor=r.flavor,
            digest=r.digest,
            stage=ModelStage(r.stage),
            creation_time=r.creation_time,
            last_updated_time=r.last_updated_time,
            description=r.description,
            tags=tags.get((r.name, r.version), {}),
            aliases=tuple(aliases.get((r.name, r.version), [])),
        )
        for r in rows
    ]
