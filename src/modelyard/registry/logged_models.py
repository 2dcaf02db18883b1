"""Logged models: a model saved as a model directory into a run's artifacts, and recorded.

The directory is built in a temporary folder with ``modelyard.models.save_model``, uploaded below
``<run artifacts>/<name>``, and only then recorded, in one transaction with its lineage edge
(run -> logged model). So a recorded model always has its files; a failed upload leaves files
but no record, and the name stays free to retry.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection

from modelyard.clock import SYSTEM_CLOCK, Clock
from modelyard.domain.governance import Actor, Permission, Scope
from modelyard.domain.lineage import NodeKind, NodeRef, Relation
from modelyard.domain.models import ModelManifest, ModelSignature
from modelyard.domain.registry import LoggedModel
from modelyard.domain.tracking import LifecycleStage, RunInfo
from modelyard.errors import AlreadyExists, Conflict, InvalidInput, NotFound
from modelyard.governance import ActorProvider, actor_provider, audit_append, guarded
from modelyard.governance import require as require_permission
from modelyard.ids import new_id
from modelyard.store.artifacts import ArtifactStore, normalize_artifact_path
from modelyard.store.db import Database
from modelyard.store.repos import lineage as lineage_rows
from modelyard.store.repos import logged_models as logged_model_rows
from modelyard.store.repos import runs as run_rows

if TYPE_CHECKING:  # modelyard.models loads pandas: imported when a model is logged, not to list one
    from modelyard.models import InputExample

LOGGED_MODEL_ID_PREFIX = "m-"


def logged_model_ref(model_id: str) -> NodeRef:
    return NodeRef(kind=NodeKind.LOGGED_MODEL, id=model_id)


def record_logged_model(conn: Connection, actor: Actor, experiment_id: str, logged: LoggedModel) -> None:
    """Record a model whose files are complete, with its audit event and lineage edge (run ->
    logged model), in the caller's transaction; the actor needs ``track`` on the experiment."""
    scope = Scope.experiment(experiment_id)
    require_permission(conn, actor, Permission.TRACK, scope, now_ms=logged.created_time)
    logged_model_rows.insert(conn, logged)
    path = logged.artifact_path
    audit_append(
        conn, actor, "logged_model.created", "logged_model", logged.model_id,
        {"run_id": logged.run_id, "path": path, "flavor": logged.flavor, "digest": logged.digest},
        now_ms=logged.created_time,
    )  # fmt: skip
    lineage_rows.add(
        conn,
        NodeRef(kind=NodeKind.RUN, id=logged.run_id),
        logged_model_ref(logged.model_id),
        Relation.PRODUCED,
        now_ms=logged.created_time,
        properties={"artifact_path": path, "flavor": logged.flavor, "digest": logged.digest},
    )


class LoggedModelService:
    """Save models into runs and look them up by id or by ``runs:/`` location."""

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

    def log(
        self,
        run_id: str,
        model: object,
        name: str = "model",
        *,
        input_example: InputExample | None = None,
        signature: ModelSignature | None = None,
        flavor: str | None = None,
        requirements: Sequence[str] | None = None,
    ) -> LoggedModel:
        """Save ``model`` into the run at ``runs:/<run_id>/<name>`` and record it.

        ``AlreadyExists`` when the run already holds something at ``name``; ``InvalidInput`` for a
        model no flavor can save or an example that breaks the signature (from ``save_model``).
        """
        path = normalize_artifact_path(name)
        if not path:
            raise InvalidInput("a logged model needs a name (its folder among the run's artifacts), e.g. 'model'")
        info = self._writable_run(run_id)
        if self._artifacts.exists(info.artifact_uri, path):
            raise AlreadyExists(f"run {run_id} already has artifacts at {path!r}; log the model under another name")
        with tempfile.TemporaryDirectory(prefix="modelyard-model-") as tmp:
            local = Path(tmp) / "model"
            from modelyard.models import save_model

            manifest = save_model(
                model,
                local,
                input_example=input_example,
                signature=signature,
                flavor=flavor,
                requirements=requirements,
                clock=self._clock,
            )
            self._artifacts.put_dir(info.artifact_uri, path, local)
        return self._record(info, path, manifest)

    def record_uploaded(self, run_id: str, name: str) -> LoggedModel:
        """Record the model directory already uploaded to the run's artifacts at ``name`` (what a
        remote client does: it saves the model locally, uploads the files, then asks for this).

        The manifest is read and the files checked against its digest before anything is recorded;
        ``InvalidInput``/``NotFound`` when ``name`` holds no valid model directory.
        """
        path = normalize_artifact_path(name)
        if not path:
            raise InvalidInput("a logged model needs a name (its folder among the run's artifacts), e.g. 'model'")
        info = self._writable_run(run_id)
        with tempfile.TemporaryDirectory(prefix="modelyard-model-") as tmp:
            if not self._artifacts.exists(info.artifact_uri, path):
                raise NotFound(f"run {run_id} has no artifacts at {path!r}; upload the model directory first")
            from modelyard.models import read_manifest

            local = self._artifacts.download(info.artifact_uri, path, Path(tmp))
            manifest = read_manifest(local, verify=True)
        with self._db.read() as conn:
            if logged_model_rows.get_by_path(conn, run_id, path) is not None:
                raise AlreadyExists(f"run {run_id} already has a logged model at {path!r}")
        return self._record(info, path, manifest)

    def _record(self, info: RunInfo, path: str, manifest: ModelManifest) -> LoggedModel:
        logged = LoggedModel(
            model_id=f"{LOGGED_MODEL_ID_PREFIX}{new_id()}",
            run_id=info.run_id,
            artifact_path=path,
            storage_uri=f"{info.artifact_uri.rstrip('/')}/{path}",
            flavor=manifest.flavor,
            digest=manifest.digest,
            created_time=self._clock.now_ms(),
            signature=manifest.signature,
        )
        with guarded(self._db, self._clock) as conn:
            record_logged_model(conn, self._actor(), info.experiment_id, logged)
        return logged

    def get(self, model_id: str) -> LoggedModel:
        with self._db.read() as conn:
            found = logged_model_rows.get(conn, model_id)
        if found is None:
            raise NotFound(f"no logged model with id {model_id!r}")
        return found

    def find(self, run_id: str, artifact_path: str) -> LoggedModel | None:
        """The model recorded at ``runs:/<run_id>/<artifact_path>``, if any."""
        with self._db.read() as conn:
            return logged_model_rows.get_by_path(conn, run_id, normalize_artifact_path(artifact_path))

    def list_for_run(self, run_id: str) -> list[LoggedModel]:
        with self._db.read() as conn:
            return logged_model_rows.list_for_run(conn, run_id)

    def _writable_run(self, run_id: str) -> RunInfo:
        with self._db.read() as conn:
            info = run_rows.get_info(conn, run_id)
        if info is None:
            raise NotFound(f"no run with id {run_id!r}")
        if info.lifecycle_stage is LifecycleStage.DELETED:
            raise Conflict(f"run {run_id} is deleted; restore it before logging a model to it")
        return info
