"""Models whose files a client uploads itself, file by file, and logged-model tags.

``LoggedModelService.log`` saves a Python object it holds; a remote client (the mlflow client
through the MLflow-compatible API, or an importer copying another store) instead reserves a model
id and a folder in its run (``begin``), uploads the files there, and calls ``finish``: the server
then digests the folder and records the logged model with its lineage and audit event, as
``log`` does. Until then the model is only a reservation, so a failed upload never leaves a
recorded model without its files, and ``runs:/<run>/<name>`` names the same folder throughout.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from modelyard.clock import SYSTEM_CLOCK, Clock
from modelyard.domain.governance import Permission, Scope
from modelyard.domain.model_uploads import ModelUpload, UploadStatus
from modelyard.domain.registry import LoggedModel
from modelyard.domain.tracking import LifecycleStage
from modelyard.errors import AlreadyExists, Conflict, InvalidInput, NotFound
from modelyard.governance import ActorProvider, actor_provider, audit_append, guarded, require
from modelyard.ids import new_id
from modelyard.models import directory_digest
from modelyard.registry import _validation as check
from modelyard.registry.logged_models import LOGGED_MODEL_ID_PREFIX, record_logged_model
from modelyard.store.artifacts import ArtifactStore, normalize_artifact_path
from modelyard.store.db import Database
from modelyard.store.repos import logged_models as logged_model_rows
from modelyard.store.repos import model_uploads as upload_rows
from modelyard.store.repos import runs as run_rows


class ModelUploadService:
    """Reserve, finish or fail model uploads; tag logged models."""

    def __init__(
        self,
        db: Database,
        artifacts: ArtifactStore,
        clock: Clock = SYSTEM_CLOCK,
        *,
        actor: ActorProvider | str | None = None,
    ) -> None:
        self._db = db
        self._artifacts = artifacts
        self._clock = clock
        self._actor = actor_provider(actor)

    def begin(self, run_id: str, name: str, *, tags: Mapping[str, Any] | None = None) -> ModelUpload:
        """Reserve a model id and the folder ``name`` among the run's artifacts.

        ``AlreadyExists`` when the run already has a model or files at ``name``.
        """
        path = normalize_artifact_path(name)
        if not path:
            raise InvalidInput("a logged model needs a name (its folder among the run's artifacts), e.g. 'model'")
        labels = check.tags(tags)
        model_id = f"{LOGGED_MODEL_ID_PREFIX}{new_id()}"
        now = self._clock.now_ms()
        with guarded(self._db, self._clock) as conn:
            info = run_rows.get_info(conn, run_id)
            if info is None:
                raise NotFound(f"no run with id {run_id!r}")
            if info.lifecycle_stage is LifecycleStage.DELETED:
                raise Conflict(f"run {run_id} is deleted; restore it before logging a model to it")
            actor = self._actor()
            require(conn, actor, Permission.TRACK, Scope.experiment(info.experiment_id), now_ms=now)
            if logged_model_rows.get_by_path(conn, run_id, path) is not None or self._artifacts.exists(
                info.artifact_uri, path
            ):
                raise AlreadyExists(f"run {run_id} already has a model or files at {path!r}; use another name")
            upload_rows.insert(conn, model_id=model_id, run_id=run_id, artifact_path=path, now_ms=now)
            upload_rows.set_tags(conn, model_id, labels)
            audit_append(
                conn, actor, "logged_model.upload_started", "logged_model", model_id,
                {"run_id": run_id, "path": path}, now_ms=now,
            )  # fmt: skip
            found = upload_rows.get(conn, model_id)
        assert found is not None
        return found

    def finish(self, model_id: str, *, flavor: str) -> LoggedModel:
        """Digest the uploaded folder and record it as a logged model (lineage, audit).

        ``flavor`` says what reads it (the uploader knows its format); an empty folder is
        ``InvalidInput``: the files must be uploaded first.
        """
        upload = self._pending(model_id)
        with tempfile.TemporaryDirectory(prefix="modelyard-finish-") as tmp:
            if not self._artifacts.exists(upload.storage_uri):
                raise InvalidInput(f"model {model_id} has no files yet; upload them to {upload.storage_uri} first")
            local = self._artifacts.download(upload.storage_uri, "", Path(tmp) / "model")
            digest = directory_digest(local)
        logged = LoggedModel(
            model_id=upload.model_id,
            run_id=upload.run_id,
            artifact_path=upload.artifact_path,
            storage_uri=upload.storage_uri,
            flavor=flavor,
            digest=digest,
            created_time=self._clock.now_ms(),
        )
        with guarded(self._db, self._clock) as conn:
            if upload_rows.get(conn, model_id) is None:
                existing = logged_model_rows.get(conn, model_id)
                if existing is not None:
                    return existing  # another request finished it first
                raise NotFound(f"no model upload with id {model_id!r}")
            upload_rows.remove(conn, model_id)
            record_logged_model(conn, self._actor(), upload.experiment_id, logged)
        return logged

    def record_existing(
        self, run_id: str, path: str, *, flavor: str, tags: Mapping[str, Any] | None = None
    ) -> LoggedModel:
        """Record as a logged model a folder already among the run's artifacts (a model another
        tool saved there, e.g. by an import); the folder is digested as ``finish`` does."""
        folder = normalize_artifact_path(path)
        with self._db.read() as conn:
            info = run_rows.get_info(conn, run_id)
            existing = logged_model_rows.get_by_path(conn, run_id, folder) if info is not None else None
        if info is None:
            raise NotFound(f"no run with id {run_id!r}")
        if existing is not None:
            return existing
        if not folder or not self._artifacts.exists(info.artifact_uri, folder):
            raise NotFound(f"run {run_id} has no folder {folder!r} to record as a model")
        model_id = f"{LOGGED_MODEL_ID_PREFIX}{new_id()}"
        now = self._clock.now_ms()
        with guarded(self._db, self._clock) as conn:
            upload_rows.insert(conn, model_id=model_id, run_id=run_id, artifact_path=folder, now_ms=now)
            upload_rows.set_tags(conn, model_id, check.tags(tags))
        return self.finish(model_id, flavor=flavor)

    def fail(self, model_id: str) -> None:
        """Mark the upload failed; the reservation (and any files) stay, so the name stays taken."""
        upload = self._pending(model_id)
        now = self._clock.now_ms()
        with guarded(self._db, self._clock) as conn:
            require(conn, self._actor(), Permission.TRACK, Scope.experiment(upload.experiment_id), now_ms=now)
            upload_rows.set_status(conn, model_id, UploadStatus.FAILED)

    def get(self, model_id: str) -> ModelUpload | None:
        """The upload reserved as ``model_id``, or None (finished models are logged models)."""
        with self._db.read() as conn:
            return upload_rows.get(conn, model_id)

    def for_run(self, run_id: str) -> list[ModelUpload]:
        with self._db.read() as conn:
            return upload_rows.for_run(conn, run_id)

    def search(
        self, experiment_ids: Sequence[str], *, name: str | None = None
    ) -> tuple[list[LoggedModel], list[ModelUpload]]:
        """Finished models and open uploads in these experiments (named ``name`` when given)."""
        path = normalize_artifact_path(name) if name is not None else None
        with self._db.read() as conn:
            ids = upload_rows.recorded_ids(conn, experiment_ids, path)
            finished = [m for m in (logged_model_rows.get(conn, i) for i in ids) if m is not None]
            return finished, upload_rows.search(conn, experiment_ids, path)

    def set_tags(self, model_id: str, tags: Mapping[str, Any]) -> None:
        labels = check.tags(tags)
        with guarded(self._db, self._clock) as conn:
            experiment_id = self._experiment_of(conn, model_id)
            now = self._clock.now_ms()
            actor = self._actor()
            require(conn, actor, Permission.TRACK, Scope.experiment(experiment_id), now_ms=now)
            upload_rows.set_tags(conn, model_id, labels)
            audit_append(conn, actor, "logged_model.tags_set", "logged_model", model_id, {"tags": labels}, now_ms=now)

    def delete_tag(self, model_id: str, key: str) -> None:
        with guarded(self._db, self._clock) as conn:
            experiment_id = self._experiment_of(conn, model_id)
            require(conn, self._actor(), Permission.TRACK, Scope.experiment(experiment_id), now_ms=self._clock.now_ms())
            if not upload_rows.delete_tag(conn, model_id, key):
                raise NotFound(f"logged model {model_id} has no tag {key!r}")

    def tags_of(self, model_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        with self._db.read() as conn:
            return upload_rows.tags_of(conn, model_ids)

    def _pending(self, model_id: str) -> ModelUpload:
        upload = self.get(model_id)
        if upload is None:
            raise NotFound(f"no model upload with id {model_id!r}")
        return upload

    @staticmethod
    def _experiment_of(conn: Connection, model_id: str) -> str:
        upload = upload_rows.get(conn, model_id)
        if upload is not None:
            return upload.experiment_id
        logged = logged_model_rows.get(conn, model_id)
        if logged is None:
            raise NotFound(f"no logged model with id {model_id!r}")
        info = run_rows.get_info(conn, logged.run_id)
        assert info is not None, "a logged model's run is never removed"
        return info.experiment_id
