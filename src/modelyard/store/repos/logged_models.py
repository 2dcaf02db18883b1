"""Logged models: model directories stored in runs, one row each, written once and never changed."""

from __future__ import annotations

import json

from sqlalchemy import Connection, Row, select
from sqlalchemy.exc import IntegrityError

from modelyard.domain.models import ModelSignature
from modelyard.domain.registry import LoggedModel
from modelyard.errors import AlreadyExists
from modelyard.store.tables import logged_models


def insert(conn: Connection, model: LoggedModel) -> None:
    """Record a logged model; a second model at the same run path is ``AlreadyExists``."""
    try:
        conn.execute(
            logged_models.insert().values(
                model_id=model.model_id,
                run_id=model.run_id,
                artifact_path=model.artifact_path,
                storage_uri=model.storage_uri,
                flavor=model.flavor,
                digest=model.digest,
                signature=json.dumps(model.signature.to_dict()) if model.signature is not None else None,
                created_time=model.created_time,
            )
        )
    except IntegrityError as exc:
        raise AlreadyExists(
            f"run {model.run_id} already has a logged model at {model.artifact_path!r}; pick another name"
        ) from exc


def get(conn: Connection, model_id: str) -> LoggedModel | None:
    row = conn.execute(select(logged_models).where(logged_models.c.model_id == model_id)).first()
    return _to_domain(row) if row else None


def digest_recorded(conn: Connection, digest: str) -> bool:
    """Whether some logged model of this store has content digest ``digest``."""
    found = conn.execute(select(logged_models.c.model_id).where(logged_models.c.digest == digest).limit(1))
    return found.first() is not None


def get_by_path(conn: Connection, run_id: str, artifact_path: str) -> LoggedModel | None:
    row = conn.execute(
        select(logged_models).where(
            (logged_models.c.run_id == run_id) & (logged_models.c.artifact_path == artifact_path)
        )
    ).first()
    return _to_domain(row) if row else None


def list_for_run(conn: Connection, run_id: str) -> list[LoggedModel]:
    rows = conn.execute(
        select(logged_models)
        .where(logged_models.c.run_id == run_id)
        .order_by(logged_models.c.created_time, logged_models.c.artifact_path)
    )
    return [_to_domain(r) for r in rows]


def _to_domain(row: Row) -> LoggedModel:  # type: ignore[type-arg]
    return LoggedModel(
        model_id=row.model_id,
        run_id=row.run_id,
        artifact_path=row.artifact_path,
        storage_uri=row.storage_uri,
        flavor=row.flavor,
        digest=row.digest,
        created_time=row.created_time,
        signature=ModelSignature.from_dict(json.loads(row.signature)) if row.signature else None,
    )
