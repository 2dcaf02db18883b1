"""MLflow's model-version calls: create, get, update, delete, search, stages, tags, download URI.

A version's ``source`` may name the logged model MLflow's way (``models:/<model id>`` or the
``model_id`` field, an ``mlflow-artifacts:`` folder of a run); it is translated to the
``runs:/<run>/<name>`` the registry registers, so the version points at the same logged model.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from modelyard.domain.model_uploads import ModelUpload
from modelyard.errors import Conflict
from modelyard.sdk.backends.local import LocalBackend
from modelyard.server.mlflow_compat import _models as models
from modelyard.server.mlflow_compat import _wire as wire
from modelyard.server.mlflow_compat._bodies import Body, KeyValue, as_dict, is_prompt, split_prompt_clause
from modelyard.server.mlflow_compat._deps import MLFLOW_ARTIFACTS_SCHEME, Backend, artifact_uri_out
from modelyard.server.mlflow_compat._errors import MlflowRoute
from modelyard.store.artifacts import normalize_artifact_path

router = APIRouter(prefix="/model-versions", route_class=MlflowRoute, tags=["mlflow: model versions"])


class CreateVersion(Body):
    name: str
    source: str = ""
    run_id: str | None = None
    model_id: str | None = None
    tags: list[KeyValue] = []
    description: str | None = None


class VersionRef(Body):
    name: str
    version: str


class UpdateVersion(VersionRef):
    description: str = ""


class Transition(VersionRef):
    stage: str
    archive_existing_versions: bool = False


class VersionTag(VersionRef):
    key: str
    value: str = ""


class DeleteVersionTag(VersionRef):
    key: str


def registry_source(backend: LocalBackend, source: str, model_id: str | None) -> str:
    """The ``runs:/`` URI of the logged model an MLflow registration names."""
    if not model_id and source.startswith("models:/m-") and "/" not in source[len("models:/") :]:
        model_id = source[len("models:/") :]
    if model_id:
        found = models.find(backend, model_id)
        if isinstance(found, ModelUpload):
            raise Conflict(f"logged model {model_id} is still being uploaded; finalize it before registering it")
        return found.uri
    if source.startswith(MLFLOW_ARTIFACTS_SCHEME):
        parts = normalize_artifact_path(source[len(MLFLOW_ARTIFACTS_SCHEME) :].lstrip("/")).split("/")
        if len(parts) >= 4 and parts[2] == "artifacts":
            return f"runs:/{parts[1]}/{'/'.join(parts[3:])}"
    return source


@router.post("/create")
def create(body: CreateVersion, backend: Backend) -> dict[str, Any]:
    created = backend.model_versions.create(
        body.name,
        registry_source(backend, body.source, body.model_id),
        description=body.description,
        tags=as_dict(body.tags),
    )
    return {"model_version": wire.model_version(backend, created)}


@router.get("/get")
def get(name: str, version: str, backend: Backend) -> dict[str, Any]:
    return {"model_version": wire.model_version(backend, backend.model_versions.get(name, version))}


@router.patch("/update")
def update(body: UpdateVersion, backend: Backend) -> dict[str, Any]:
    found = backend.model_versions.update(body.name, body.version, description=body.description)
    return {"model_version": wire.model_version(backend, found)}


@router.delete("/delete")
def delete(body: VersionRef, backend: Backend) -> dict[str, Any]:
    backend.model_versions.delete(body.name, body.version)
    return {}


@router.get("/search")
def search(
    backend: Backend,
    filter: str | None = None,
    max_results: Annotated[int, Query(ge=1, le=100_000)] = 1000,
    order_by: Annotated[list[str] | None, Query()] = None,
    page_token: str | None = None,
) -> dict[str, Any]:
    offset = int(page_token) if page_token and page_token.isdigit() else 0
    rest, prompts = split_prompt_clause(filter)
    found = backend.model_versions.search(rest, max_results=max_results, offset=offset)
    if prompts is not None:
        kinds = {name: is_prompt(backend.registered_models.get(name).tags) for name in {v.name for v in found}}
        found = [v for v in found if kinds[v.name] is prompts]
    answer: dict[str, Any] = {"model_versions": [wire.model_version(backend, v) for v in found]}
    if len(found) == max_results:  # a full page: there may be more
        answer["next_page_token"] = str(offset + max_results)
    return answer


@router.get("/get-download-uri")
def download_uri(name: str, version: str, backend: Backend) -> dict[str, Any]:
    found = backend.model_versions.get(name, version)
    return {"artifact_uri": artifact_uri_out(backend, found.storage_uri)}


@router.post("/transition-stage")
def transition(body: Transition, backend: Backend) -> dict[str, Any]:
    moved = backend.stages.transition(
        body.name, body.version, body.stage, archive_existing_versions=body.archive_existing_versions
    )
    return {"model_version": wire.model_version(backend, moved)}


@router.post("/set-tag")
def set_tag(body: VersionTag, backend: Backend) -> dict[str, Any]:
    backend.model_versions.set_tag(body.name, body.version, body.key, body.value)
    return {}


@router.delete("/delete-tag")
def delete_tag(body: DeleteVersionTag, backend: Backend) -> dict[str, Any]:
    backend.model_versions.delete_tag(body.name, body.version, body.key)
    return {}
