"""modelyard records as MLflow's JSON entities (proto field names, as ``mlflow`` parses them).

Only the shapes live here; which record to send is the handlers' business. Metric values that
are NaN or infinite go out as MLflow sends them (``"NaN"``, ``"Infinity"``), since JSON has no
literal for them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from modelyard.domain.registry import ModelVersion, RegisteredModel
from modelyard.domain.tracking import Experiment, FileInfo, Metric, Run, RunInfo
from modelyard.sdk.backends.local import LocalBackend
from modelyard.server.mlflow_compat._deps import artifact_uri_out

RUN_NAME_TAG = "mlflow.runName"
PARENT_RUN_TAG = "mlflow.parentRunId"
USER_TAG = "mlflow.user"


def key_values(values: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in values.items()]


def number(value: float) -> float | str:
    """A double as MLflow's JSON writes it: NaN and the infinities as strings."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def parse_number(value: float | int | str) -> float:
    """A double from MLflow's JSON (``"NaN"``, ``"Infinity"``, ``"-Infinity"`` or a number)."""
    return float(value)


def experiment(backend: LocalBackend, found: Experiment) -> dict[str, Any]:
    return {
        "experiment_id": found.experiment_id,
        "name": found.name,
        "artifact_location": artifact_uri_out(backend, found.artifact_location),
        "lifecycle_stage": found.lifecycle_stage.value,
        "creation_time": found.creation_time,
        "last_update_time": found.last_update_time,
        "tags": key_values(found.tags),
    }


def run_info(backend: LocalBackend, info: RunInfo) -> dict[str, Any]:
    body: dict[str, Any] = {
        "run_id": info.run_id,
        "run_uuid": info.run_id,
        "run_name": info.run_name,
        "experiment_id": info.experiment_id,
        "user_id": info.user,
        "status": info.status.value,
        "start_time": info.start_time,
        "artifact_uri": artifact_uri_out(backend, info.artifact_uri),
        "lifecycle_stage": info.lifecycle_stage.value,
    }
    if info.end_time is not None:
        body["end_time"] = info.end_time
    return body


def run(backend: LocalBackend, found: Run, model_ids: Sequence[str] = ()) -> dict[str, Any]:
    """A whole run; the tags MLflow derives from attributes (run name, parent) are filled in."""
    tags = dict(found.data.tags)
    tags.setdefault(RUN_NAME_TAG, found.info.run_name)
    if found.info.parent_run_id:
        tags.setdefault(PARENT_RUN_TAG, found.info.parent_run_id)
    return {
        "info": run_info(backend, found.info),
        "data": {
            # The latest value per key; its step and time are not part of modelyard's run record.
            "metrics": [
                {"key": k, "value": number(v), "timestamp": found.info.start_time, "step": 0}
                for k, v in found.data.metrics.items()
            ],
            "params": key_values(found.data.params),
            "tags": key_values(tags),
        },
        "inputs": {"dataset_inputs": [], "model_inputs": []},
        "outputs": {"model_outputs": [{"model_id": m, "step": 0} for m in model_ids]},
    }


def metric(found: Metric) -> dict[str, Any]:
    return {"key": found.key, "value": number(found.value), "timestamp": found.timestamp, "step": found.step}


def file_info(found: FileInfo, prefix: str) -> dict[str, Any]:
    """An artifact listing entry; MLflow's paths are relative to the listed folder's root."""
    path = found.path[len(prefix) + 1 :] if prefix and found.path.startswith(prefix + "/") else found.path
    body: dict[str, Any] = {"path": path, "is_dir": found.is_dir}
    if found.file_size is not None:
        body["file_size"] = found.file_size
    return body


def model_version(backend: LocalBackend, found: ModelVersion) -> dict[str, Any]:
    return {
        "name": found.name,
        "version": str(found.version),
        "creation_timestamp": found.creation_time,
        "last_updated_timestamp": found.last_updated_time,
        "current_stage": found.stage.value,
        "description": found.description,
        "source": found.source,
        "run_id": found.run_id,
        "status": "READY",
        "model_id": found.model_id,
        "tags": key_values(found.tags),
        "aliases": list(found.aliases),
        "storage_location": artifact_uri_out(backend, found.storage_uri),
    }


def registered_model(found: RegisteredModel, latest: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    return {
        "name": found.name,
        "creation_timestamp": found.creation_time,
        "last_updated_timestamp": found.last_updated_time,
        "description": found.description,
        "latest_versions": list(latest),
        "tags": key_values(found.tags),
        "aliases": [{"alias": a, "version": str(v)} for a, v in found.aliases.items()],
    }
