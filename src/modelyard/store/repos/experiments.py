"""Experiments and their tags.

The lookups every run start makes are built once at import, values as bound parameters.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Row, String, bindparam, cast, select, update
from sqlalchemy.exc import IntegrityError

from modelyard.domain.governance import ScopeKind
from modelyard.domain.tracking import Experiment, LifecycleStage
from modelyard.errors import AlreadyExists
from modelyard.store.repos import identity as identity_rows
from modelyard.store.tables import experiment_tags, experiments

_GET = select(experiments).where(experiments.c.experiment_id == bindparam("b_id"))
_GET_WITH_ACCESS = select(
    experiments, *identity_rows.access_columns(ScopeKind.EXPERIMENT, cast(experiments.c.experiment_id, String))
).where(experiments.c.experiment_id == bindparam("b_id"))
_GET_BY_NAME = select(experiments).where(experiments.c.name == bindparam("b_name"))
_TAGS_OF = select(experiment_tags).where(experiment_tags.c.experiment_id.in_(bindparam("b_ids", expanding=True)))


def insert(conn: Connection, *, name: str, artifact_location: str, now_ms: int) -> str:
    """Create an experiment; its artifact location may depend on the id, so it is set after."""
    try:
        result = conn.execute(
            experiments.insert().values(
                name=name,
                artifact_location=artifact_location,
                lifecycle_stage=LifecycleStage.ACTIVE.value,
                creation_time=now_ms,
                last_update_time=now_ms,
            )
        )
    except IntegrityError as exc:
        raise AlreadyExists(f"an experiment named {name!r} already exists") from exc
    (experiment_id,) = result.inserted_primary_key or (None,)
    return str(experiment_id)


def set_artifact_location(conn: Connection, experiment_id: str, location: str) -> None:
    conn.execute(
        update(experiments).where(experiments.c.experiment_id == int(experiment_id)).values(artifact_location=location)
    )


def get(conn: Connection, experiment_id: str, *, with_tags: bool = True) -> Experiment | None:
    """The experiment, or None; ``with_tags=False`` skips the tags query (its ``tags`` are then
    empty) for callers that read only the row, as starting a run does."""
    if not experiment_id.isdigit():
        return None
    row = conn.execute(_GET, {"b_id": int(experiment_id)}).first()
    if row is None:
        return None
    return _to_domain(conn, row, None if with_tags else {})


def get_with_access(
    conn: Connection, experiment_id: str, user: str
) -> tuple[Experiment | None, identity_rows.Access | None]:
    """The experiment's row (without tags) and ``user``'s access on it, in one round trip: what
    starting a run reads."""
    if not experiment_id.isdigit():
        return None, None
    row = conn.execute(_GET_WITH_ACCESS, {"b_id": int(experiment_id), identity_rows.ACCESS_USER: user}).first()
    if row is None:
        return None, None
    return _to_domain(conn, row, {}), identity_rows.access_of(row)


def get_by_name(conn: Connection, name: str) -> Experiment | None:
    row = conn.execute(_GET_BY_NAME, {"b_name": name}).first()
    return _to_domain(conn, row) if row else None


def list_all(conn: Connection, *, stages: Sequence[LifecycleStage]) -> list[Experiment]:
    rows = conn.execute(
        select(experiments)
        .where(experiments.c.lifecycle_stage.in_([s.value for s in stages]))
        .order_by(experiments.c.experiment_id)
    ).all()
    tags = _tags_by_experiment(conn, [r.experiment_id for r in rows])
    return [_to_domain(conn, r, tags.get(r.experiment_id, {})) for r in rows]


def update_fields(conn: Connection, experiment_id: str, *, now_ms: int, **values: str) -> None:
    """Rename or change the lifecycle stage; a taken name is ``AlreadyExists``."""
    try:
        conn.execute(
            update(experiments)
            .where(experiments.c.experiment_id == int(experiment_id))
            .values(last_update_time=now_ms, **values)
        )
    except IntegrityError as exc:
        raise AlreadyExists(f"an experiment named {values.get('name')!r} already exists") from exc


def set_tag(conn: Connection, experiment_id: str, key: str, value: str) -> None:
    conn.execute(
        experiment_tags.delete().where(
            (experiment_tags.c.experiment_id == int(experiment_id)) & (experiment_tags.c.key == key)
        )
    )
    conn.execute(experiment_tags.insert().values(experiment_id=int(experiment_id), key=key, value=value))


def _tags_by_experiment(conn: Connection, ids: Sequence[int]) -> dict[int, dict[str, str]]:
    out: dict[int, dict[str, str]] = {}
    if not ids:
        return out
    for row in conn.execute(_TAGS_OF, {"b_ids": list(ids)}):
        out.setdefault(row.experiment_id, {})[row.key] = row.value
    return out


def _to_domain(conn: Connection, row: Row, tags: dict[str, str] | None = None) -> Experiment:  # type: ignore[type-arg]
    if tags is None:
        tags = _tags_by_experiment(conn, [row.experiment_id]).get(row.experiment_id, {})
    return Experiment(
        experiment_id=str(row.experiment_id),
        name=row.name,
        artifact_location=row.artifact_location,
        lifecycle_stage=LifecycleStage(row.lifecycle_stage),
        creation_time=row.creation_time,
        last_update_time=row.last_update_time,
        tags=tags,
    )
