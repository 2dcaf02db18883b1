"""``/api/v1/deployments``: deployments, their history, and changes of traffic (deploy, weights,
promote, rollback, undeploy). The deployment service checks the ``deploy`` permission."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from pydantic import Field

from modelyard.domain.serving import Deployment, DeploymentEvent, VariantMode, VariantSpec
from modelyard.server.deps import BackendDep
from modelyard.server.errors import ERROR_RESPONSES
from modelyard.server.pagination import DEFAULT_PAGE, MaxResults, PageToken, page_of, paginate
from modelyard.server.schemas import Schema, schema_for

router = APIRouter(prefix="/api/v1/deployments", tags=["deployments"], responses=ERROR_RESPONSES)
DeploymentOut = schema_for(Deployment)
DeploymentEventOut = schema_for(DeploymentEvent)


class VariantIn(Schema):
    uri: str = Field(min_length=1, max_length=1000, description="models:/<name>/<version> or models:/<name>@<alias>")
    mode: VariantMode = VariantMode.PRIMARY
    weight: float = Field(default=0.0, ge=0, le=100)
    sample: float = Field(default=100.0, ge=0, le=100)
    name: str | None = Field(default=None, max_length=256)


class DeployIn(Schema):
    variants: list[VariantIn] = Field(min_length=1, max_length=32)


class TrafficIn(Schema):
    weights: dict[str, float] = Field(min_length=1, max_length=32)
    expected_revision: int | None = Field(default=None, ge=1, le=2**31 - 1)


class ChangeIn(Schema):
    variant: str | None = Field(default=None, max_length=256)
    expected_revision: int | None = Field(default=None, ge=1, le=2**31 - 1)


@router.get("", response_model=page_of(DeploymentOut))
def list_deployments(backend: BackendDep, max_results: MaxResults = DEFAULT_PAGE, page_token: PageToken = None) -> Any:
    return paginate(backend.deployments.list(), max_results, page_token)


@router.get("/{name}", response_model=DeploymentOut)
def get_deployment(name: str, backend: BackendDep) -> Any:
    return backend.deployments.get(name)


@router.get("/{name}/history", response_model=page_of(DeploymentEventOut))
def deployment_history(
    name: str, backend: BackendDep, max_results: MaxResults = DEFAULT_PAGE, page_token: PageToken = None
) -> Any:
    return paginate(backend.deployments.history(name), max_results, page_token)


@router.put("/{name}", response_model=DeploymentOut)
def deploy(name: str, body: DeployIn, backend: BackendDep) -> Any:
    """Create or replace the deployment's variants (model versions are pinned when deployed)."""
    specs = [VariantSpec(**v.model_dump()) for v in body.variants]
    return backend.deployments.deploy(name, specs)


@router.put("/{name}/traffic", response_model=DeploymentOut)
def set_traffic(name: str, body: TrafficIn, backend: BackendDep) -> Any:
    return backend.deployments.set_traffic(name, body.weights, expected_revision=body.expected_revision)


@router.post("/{name}/promote", response_model=DeploymentOut)
def promote(name: str, body: ChangeIn, backend: BackendDep) -> Any:
    return backend.deployments.promote(name, body.variant, expected_revision=body.expected_revision)


@router.post("/{name}/rollback", response_model=DeploymentOut)
def rollback(name: str, body: ChangeIn, backend: BackendDep) -> Any:
    return backend.deployments.rollback(name, expected_revision=body.expected_revision)


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def undeploy(name: str, backend: BackendDep) -> None:
    backend.deployments.undeploy(name)
