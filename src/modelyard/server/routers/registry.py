"""``/api/v1/registered-models`` and ``/api/v1/model-versions``: the model registry.

Stage transitions and protected aliases may answer 409 naming the approval request they opened
(four-eyes approval), exactly as the service raises in embedded mode.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, status

from modelyard.server.deps import BackendDep
from modelyard.server.errors import ERROR_RESPONSES
from modelyard.server.pagination import DEFAULT_PAGE, MaxResults, PageToken, page_of, paginate, paginate_query
from modelyard.server.schemas import Count
from modelyard.server.schemas.registry import (
    AliasIn,
    DescriptionIn,
    ModelVersionCreate,
    ModelVersionOut,
    RegisteredModelCreate,
    RegisteredModelOut,
    StageIn,
    TagIn,
)

router = APIRouter(prefix="/api/v1", tags=["registry"], responses=ERROR_RESPONSES)
Filter = Query(default=None, max_length=10_000, description="The registry filter language, e.g. name LIKE 'churn%'")


@router.post("/registered-models", response_model=RegisteredModelOut, status_code=status.HTTP_201_CREATED)
def create_registered_model(body: RegisteredModelCreate, backend: BackendDep) -> Any:
    return backend.registered_models.create(body.name, description=body.description, tags=body.tags)


@router.get("/registered-models", response_model=page_of(RegisteredModelOut))
def search_registered_models(
    backend: BackendDep,
    filter: str | None = Filter,
    max_results: MaxResults = DEFAULT_PAGE,
    page_token: PageToken = None,
) -> Any:
    fetch = lambda limit, offset: backend.registered_models.search(filter, max_results=limit, offset=offset)  # noqa: E731
    return paginate_query(fetch, max_results, page_token)


@router.get("/registered-models/{name}", response_model=RegisteredModelOut)
def get_registered_model(name: str, backend: BackendDep) -> Any:
    return backend.registered_models.get(name)


@router.patch("/registered-models/{name}", response_model=RegisteredModelOut)
def update_registered_model(name: str, body: DescriptionIn, backend: BackendDep) -> Any:
    return backend.registered_models.update(name, description=body.description)


@router.delete("/registered-models/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_registered_model(name: str, backend: BackendDep) -> None:
    backend.registered_models.delete(name)


@router.put("/registered-models/{name}/tags/{key}", status_code=status.HTTP_204_NO_CONTENT)
def set_registered_model_tag(name: str, key: str, body: TagIn, backend: BackendDep) -> None:
    backend.registered_models.set_tag(name, key, body.value)


@router.delete("/registered-models/{name}/tags/{key}", status_code=status.HTTP_204_NO_CONTENT)
def delete_registered_model_tag(name: str, key: str, backend: BackendDep) -> None:
    backend.registered_models.delete_tag(name, key)


@router.get("/registered-models/{name}/versions", response_model=page_of(ModelVersionOut))
def list_model_versions(
    name: str, backend: BackendDep, max_results: MaxResults = DEFAULT_PAGE, page_token: PageToken = None
) -> Any:
    return paginate(backend.model_versions.list(name), max_results, page_token)


@router.post("/model-versions", response_model=ModelVersionOut, status_code=status.HTTP_201_CREATED)
def create_model_version(body: ModelVersionCreate, backend: BackendDep) -> Any:
    """Register ``source`` (``runs:/…``, ``models:/…``) as the next version of ``name``."""
    return backend.model_versions.create(
        body.name, body.source, description=body.description, tags=body.tags, create_model=body.create_model
    )


@router.get("/model-versions", response_model=page_of(ModelVersionOut))
def search_model_versions(
    backend: BackendDep,
    filter: str | None = Filter,
    max_results: MaxResults = DEFAULT_PAGE,
    page_token: PageToken = None,
) -> Any:
    fetch = lambda limit, offset: backend.model_versions.search(filter, max_results=limit, offset=offset)  # noqa: E731
    return paginate_query(fetch, max_results, page_token)


@router.get("/registered-models/{name}/versions/{version}", response_model=ModelVersionOut)
def get_model_version(name: str, version: Count, backend: BackendDep) -> Any:
    return backend.model_versions.get(name, version)


@router.patch("/registered-models/{name}/versions/{version}", response_model=ModelVersionOut)
def update_model_version(name: str, version: Count, body: DescriptionIn, backend: BackendDep) -> Any:
    return backend.model_versions.update(name, version, description=body.description)


@router.delete("/registered-models/{name}/versions/{version}", status_code=status.HTTP_204_NO_CONTENT)
def delete_model_version(name: str, version: Count, backend: BackendDep) -> None:
    backend.model_versions.delete(name, version)


@router.put("/registered-models/{name}/versions/{version}/tags/{key}", status_code=status.HTTP_204_NO_CONTENT)
def set_model_version_tag(name: str, version: Count, key: str, body: TagIn, backend: BackendDep) -> None:
    backend.model_versions.set_tag(name, version, key, body.value)


@router.delete("/registered-models/{name}/versions/{version}/tags/{key}", status_code=status.HTTP_204_NO_CONTENT)
def delete_model_version_tag(name: str, version: Count, key: str, backend: BackendDep) -> None:
    backend.model_versions.delete_tag(name, version, key)


@router.post("/registered-models/{name}/versions/{version}/stage", response_model=ModelVersionOut)
def transition_stage(name: str, version: Count, body: StageIn, backend: BackendDep) -> Any:
    return backend.stages.transition(
        name, version, body.stage, archive_existing_versions=body.archive_existing_versions, reason=body.reason
    )


@router.put("/registered-models/{name}/aliases/{alias}", response_model=ModelVersionOut)
def set_alias(name: str, alias: str, body: AliasIn, backend: BackendDep) -> Any:
    return backend.aliases.set(name, alias, body.version, reason=body.reason)


@router.get("/registered-models/{name}/aliases/{alias}", response_model=ModelVersionOut)
def get_alias(name: str, alias: str, backend: BackendDep) -> Any:
    return backend.aliases.get_version(name, alias)


@router.delete("/registered-models/{name}/aliases/{alias}", status_code=status.HTTP_204_NO_CONTENT)
def delete_alias(name: str, alias: str, backend: BackendDep) -> None:
    backend.aliases.delete(name, alias)
