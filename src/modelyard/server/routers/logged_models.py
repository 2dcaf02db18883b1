"""``/api/v1/logged-models`` and model URIs: record a model whose files a client uploaded, look
models up, and resolve ``runs:/``/``models:/`` URIs to the files a client downloads and loads."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, status

from modelyard.errors import NotFound
from modelyard.server.deps import BackendDep
from modelyard.server.errors import ERROR_RESPONSES
from modelyard.server.schemas.registry import LoggedModelOut, LoggedModelRecord, ResolvedModelOut

router = APIRouter(prefix="/api/v1", tags=["logged-models"], responses=ERROR_RESPONSES)


@router.post("/runs/{run_id}/logged-models", response_model=LoggedModelOut, status_code=status.HTTP_201_CREATED)
def record_logged_model(run_id: str, body: LoggedModelRecord, backend: BackendDep) -> Any:
    """Record the model directory uploaded to the run's artifacts at ``name`` (its manifest and
    digest are checked on the server)."""
    return backend.logged_models.record_uploaded(run_id, body.name)


@router.get("/runs/{run_id}/logged-models", response_model=list[LoggedModelOut])  # type: ignore[valid-type]
def list_logged_models(run_id: str, backend: BackendDep) -> Any:
    return backend.logged_models.list_for_run(run_id)


@router.get("/runs/{run_id}/logged-models/by-path", response_model=LoggedModelOut)
def find_logged_model(run_id: str, backend: BackendDep, path: str = Query(min_length=1, max_length=1000)) -> Any:
    found = backend.logged_models.find(run_id, path)
    if found is None:
        raise NotFound(f"no logged model at runs:/{run_id}/{path}")
    return found


@router.get("/logged-models/{model_id}", response_model=LoggedModelOut)
def get_logged_model(model_id: str, backend: BackendDep) -> Any:
    return backend.logged_models.get(model_id)


@router.get("/models/resolve", response_model=ResolvedModelOut)
def resolve_model(backend: BackendDep, uri: str = Query(min_length=1, max_length=2000)) -> Any:
    """The run and artifact path holding the model a ``runs:/`` or ``models:/`` URI names."""
    return backend.model_resolver.locate(uri)
