"""MLflow 3's logged models over modelyard's: finished models are logged models, open uploads are
reservations (``ModelUploadService``), and both answer as MLflow's ``LoggedModel`` entity."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from modelyard.domain.model_uploads import ModelUpload, UploadStatus
from modelyard.domain.registry import LoggedModel
from modelyard.errors import NotFound
from modelyard.models import MLMODEL_FILE, mlflow_flavor
from modelyard.sdk.backends.local import LocalBackend
from modelyard.server.mlflow_compat._deps import artifact_uri_out
from modelyard.server.mlflow_compat._wire import key_values

_STATUS = {UploadStatus.PENDING: "LOGGED_MODEL_PENDING", UploadStatus.FAILED: "LOGGED_MODEL_UPLOAD_FAILED"}


def model_ids_of_run(backend: LocalBackend, run_id: str) -> list[str]:
    """The models a run produced: its logged models and its open uploads (MLflow's outputs)."""
    finished = [m.model_id for m in backend.logged_models.list_for_run(run_id)]
    return finished + [u.model_id for u in backend.model_uploads.for_run(run_id)]


def record_outputs(backend: LocalBackend, run_id: str, model_ids: Sequence[str]) -> None:
    """Check that each model exists; a model's producing run is already recorded (lineage), so
    MLflow's ``runs/outputs`` has nothing more to store."""
    backend.runs.get(run_id)
    for model_id in model_ids:
        find(backend, model_id)


def find(backend: LocalBackend, model_id: str) -> LoggedModel | ModelUpload:
    upload = backend.model_uploads.get(model_id)
    if upload is not None:
        return upload
    try:
        return backend.logged_models.get(model_id)
    except NotFound:
        raise NotFound(f"no logged model with id {model_id!r}") from None


def flavor_of(backend: LocalBackend, upload: ModelUpload) -> str:
    """``mlflow.<flavor>`` from the uploaded ``MLmodel``."""
    try:
        text: bytes | None = backend.artifacts.read_bytes(upload.run_id, f"{upload.artifact_path}/{MLMODEL_FILE}")
    except NotFound:
        text = None
    return mlflow_flavor(text)


def logged_model(backend: LocalBackend, found: LoggedModel | ModelUpload) -> dict[str, Any]:
    """The MLflow ``LoggedModel`` entity; its params are the producing run's params."""
    run = backend.runs.get(found.run_id)
    if isinstance(found, ModelUpload):
        status, created, updated = _STATUS[found.status], found.created_time, found.created_time
    else:
        status, created, updated = "LOGGED_MODEL_READY", found.created_time, found.created_time
    tags = backend.model_uploads.tags_of([found.model_id]).get(found.model_id, {})
    return {
        "info": {
            "model_id": found.model_id,
            "experiment_id": run.info.experiment_id,
            "name": found.artifact_path,
            "artifact_uri": artifact_uri_out(backend, found.storage_uri),
            "status": status,
            "creation_timestamp_ms": created,
            "last_updated_timestamp_ms": updated,
            "source_run_id": found.run_id,
            "tags": key_values(tags),
            "lifecycle_stage": run.info.lifecycle_stage.value,
        },
        "data": {"params": key_values(run.data.params), "metrics": []},
    }
