"""Model uploads in progress and logged-model tags (see ``store.tables.model_uploads``)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Row, delete, select, update
from sqlalchemy.exc import IntegrityError

from modelyard.domain.model_uploads import ModelUpload, UploadStatus
from modelyard.errors import AlreadyExists
from modelyard.store.repos._upsert import upsert
from modelyard.store.tables import logged_models, runs
from modelyard.store.tables.model_uploads import logged_model_tags, logged_model_uploads


def insert(conn: Connection, *, model_id: str, run_id: str, artifact_path: str, now_ms: int) -> None:
    """Reserve ``artifact_path`` in the run; taken by another upload is ``AlreadyExists``."""
    try:
        conn.execute(
            logged_model_uploads.insert().values(
                model_id=model_id,
                run_id=run_id,
                artifact_path=artifact_path,
                status=UploadStatus.PENDING.value,
                created_time=now_ms,
            )
        )
    except IntegrityError as exc:
        raise AlreadyExists(f"run {run_id} already has a model being uploaded at {artifact_path!r}") from exc


_SELECT = select(
    logged_model_uploads,
    runs.c.experiment_id,
    runs.c.artifact_uri,
).join(runs, runs.c.run_id == logged_model_uploads.c.run_id)


def get(conn: Connection, model_id: str) -> ModelUpload | None:
    row = conn.execute(_SELECT.where(logged_model_uploads.c.model_id == model_id)).first()
    return _to_domain(row) if row else None


def search(conn: Connection, experiment_ids: Sequence[str], artifact_path: str | None) -> list[ModelUpload]:
    query = _SELECT.where(runs.c.experiment_id.in_([int(e) for e in experiment_ids if e.isdigit()]))
    if artifact_path is not None:
        query = query.where(logged_model_uploads.c.artifact_path == artifact_path)
    return [_to_domain(r) for r in conn.execute(query.order_by(logged_model_uploads.c.created_time))]


def for_run(conn: Connection, run_id: str) -> list[ModelUpload]:
    query = _SELECT.where(logged_model_uploads.c.run_id == run_id).order_by(logged_model_uploads.c.created_time)
    return [_to_domain(r) for r in conn.execute(query)]


def set_status(conn: Connection, model_id: str, status: UploadStatus) -> None:
    conn.execute(
        update(logged_model_uploads).where(logged_model_uploads.c.model_id == model_id).values(status=status.value)
    )


def remove(conn: Connection, model_id: str) -> None:
    conn.execute(delete(logged_model_uploads).where(logged_model_uploads.c.model_id == model_id))


def recorded_ids(conn: Connection, experiment_ids: Sequence[str], artifact_path: str | None) -> list[str]:
    """Ids of the finished logged models in these experiments (at ``artifact_path`` when given)."""
    query = (
        select(logged_models.c.model_id)
        .join(runs, runs.c.run_id == logged_models.c.run_id)
        .where(runs.c.experiment_id.in_([int(e) for e in experiment_ids if e.isdigit()]))
    )
    if artifact_path is not None:
        query = query.where(logged_models.c.artifact_path == artifact_path)
    return [r.model_id for r in conn.execute(query.order_by(logged_models.c.created_time))]


def set_tags(conn: Connection, model_id: str, values: dict[str, str]) -> None:
    if values:
        upsert(
            conn,
            logged_model_tags,
            [{"model_id": model_id, "key": k, "value": v} for k, v in values.items()],
            keys=("model_id", "key"),
            update=("value",),
        )


def delete_tag(conn: Connection, model_id: str, key: str) -> bool:
    result = conn.execute(
        delete(logged_model_tags).where((logged_model_tags.c.model_id == model_id) & (logged_model_tags.c.key == key))
    )
    return bool(result.rowcount)


def tags_of(conn: Connection, model_ids: Sequence[str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    if model_ids:
        rows = conn.execute(select(logged_model_tags).where(logged_model_tags.c.model_id.in_(list(model_ids))))
        for row in rows:
            out.setdefault(row.model_id, {})[row.key] = row.value
    return out


def _to_domain(row: Row) -> ModelUpload:  # type: ignore[type-arg]
    return ModelUpload(
        model_id=row.model_id,
        run_id=row.run_id,
        experiment_id=str(row.experiment_id),
        artifact_path=row.artifact_path,
        storage_uri=f"{row.artifact_uri.rstrip('/')}/{row.artifact_path}",
        status=UploadStatus(row.status),
        created_time=row.created_time,
    )
