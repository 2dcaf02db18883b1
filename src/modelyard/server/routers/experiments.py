"""``/api/v1/experiments``: create, read, list (paged), rename, tag, delete and restore."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, status

from modelyard.domain.search import ViewType
from modelyard.errors import NotFound
from modelyard.server.deps import BackendDep
from modelyard.server.errors import ERROR_RESPONSES
from modelyard.server.pagination import DEFAULT_PAGE, MaxResults, PageToken, page_of, paginate
from modelyard.server.schemas.tracking import ExperimentCreate, ExperimentId, ExperimentName, ExperimentOut, TagValue

router = APIRouter(prefix="/api/v1/experiments", tags=["experiments"], responses=ERROR_RESPONSES)


@router.post("", response_model=ExperimentId, status_code=status.HTTP_201_CREATED)
def create_experiment(body: ExperimentCreate, backend: BackendDep) -> dict[str, str]:
    experiment_id = backend.experiments.create(body.name, tags=body.tags, artifact_location=body.artifact_location)
    return {"experiment_id": experiment_id}


@router.get("", response_model=page_of(ExperimentOut))
def list_experiments(
    backend: BackendDep,
    view: ViewType = ViewType.ACTIVE_ONLY,
    max_results: MaxResults = DEFAULT_PAGE,
    page_token: PageToken = None,
) -> dict[str, Any]:
    found = backend.experiments.list(include_deleted=view is ViewType.ALL, only_deleted=view is ViewType.DELETED_ONLY)
    return paginate(found, max_results, page_token)


@router.post("/get-or-create", response_model=ExperimentOut)
def get_or_create_experiment(body: ExperimentName, backend: BackendDep) -> Any:
    return backend.experiments.get_or_create(body.name)


@router.get("/by-name", response_model=ExperimentOut)
def get_experiment_by_name(backend: BackendDep, name: str = Query(min_length=1, max_length=500)) -> Any:
    found = backend.experiments.get_by_name(name)
    if found is None:
        raise NotFound(f"no experiment named {name!r}")
    return found


@router.get("/resolve", response_model=ExperimentOut)
def resolve_experiment(backend: BackendDep, name_or_id: str = Query(min_length=1, max_length=500)) -> Any:
    """An experiment by id, or else by name (what the CLI accepts)."""
    return backend.experiments.resolve(name_or_id)


@router.get("/{experiment_id}", response_model=ExperimentOut)
def get_experiment(experiment_id: str, backend: BackendDep) -> Any:
    return backend.experiments.get(experiment_id)


@router.patch("/{experiment_id}", status_code=status.HTTP_204_NO_CONTENT)
def rename_experiment(experiment_id: str, body: ExperimentName, backend: BackendDep) -> None:
    backend.experiments.rename(experiment_id, body.name)


@router.delete("/{experiment_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_experiment(experiment_id: str, backend: BackendDep) -> None:
    backend.experiments.delete(experiment_id)


@router.post("/{experiment_id}/restore", status_code=status.HTTP_204_NO_CONTENT)
def restore_experiment(experiment_id: str, backend: BackendDep) -> None:
    backend.experiments.restore(experiment_id)


@router.put("/{experiment_id}/tags/{key}", status_code=status.HTTP_204_NO_CONTENT)
def set_experiment_tag(experiment_id: str, key: str, body: TagValue, backend: BackendDep) -> None:
    backend.experiments.set_tag(experiment_id, key, body.value)
