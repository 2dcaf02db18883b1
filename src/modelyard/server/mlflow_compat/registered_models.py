"""MLflow's registered-model calls: create, get, update, delete, search, tags, aliases, latest."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from modelyard.domain.registry import ModelStage, RegisteredModel
from modelyard.sdk.backends.local import LocalBackend
from modelyard.server.mlflow_compat import _wire as wire
from modelyard.server.mlflow_compat._bodies import Body, KeyValue, as_dict, is_prompt, split_prompt_clause
from modelyard.server.mlflow_compat._deps import Backend
from modelyard.server.mlflow_compat._errors import MlflowRoute

router = APIRouter(prefix="/registered-models", route_class=MlflowRoute, tags=["mlflow: registered models"])


class CreateModel(Body):
    name: str
    tags: list[KeyValue] = []
    description: str | None = None


class ModelRef(Body):
    name: str


class UpdateModel(Body):
    name: str
    description: str = ""


class ModelTag(Body):
    name: str
    key: str
    value: str = ""


class DeleteModelTag(Body):
    name: str
    key: str


class SetAlias(Body):
    name: str
    alias: str
    version: str


class DeleteAlias(Body):
    name: str
    alias: str


class LatestVersions(Body):
    name: str
    stages: list[str] = []


def _latest(backend: LocalBackend, name: str, stages: list[str] | None = None) -> list[dict[str, Any]]:
    """The newest version in each stage (MLflow's ``latest_versions``), optionally only ``stages``."""
    wanted = {ModelStage.parse(s) for s in stages} if stages else None
    newest: dict[ModelStage, Any] = {}
    for version in backend.model_versions.list(name):
        if (wanted is None or version.stage in wanted) and (
            version.stage not in newest or version.version > newest[version.stage].version
        ):
            newest[version.stage] = version
    return [wire.model_version(backend, v) for v in sorted(newest.values(), key=lambda v: v.version)]


def _model(backend: LocalBackend, found: RegisteredModel) -> dict[str, Any]:
    return wire.registered_model(found, _latest(backend, found.name))


@router.post("/create")
def create(body: CreateModel, backend: Backend) -> dict[str, Any]:
    found = backend.registered_models.create(body.name, description=body.description, tags=as_dict(body.tags))
    return {"registered_model": _model(backend, found)}


@router.get("/get")
def get(name: str, backend: Backend) -> dict[str, Any]:
    return {"registered_model": _model(backend, backend.registered_models.get(name))}


@router.patch("/update")
def update(body: UpdateModel, backend: Backend) -> dict[str, Any]:
    found = backend.registered_models.update(body.name, description=body.description)
    return {"registered_model": _model(backend, found)}


@router.delete("/delete")
def delete(body: ModelRef, backend: Backend) -> dict[str, Any]:
    backend.registered_models.delete(body.name)
    return {}


@router.get("/search")
def search(
    backend: Backend,
    filter: str | None = None,
    max_results: Annotated[int, Query(ge=1, le=100_000)] = 100,
    order_by: Annotated[list[str] | None, Query()] = None,
    page_token: str | None = None,
) -> dict[str, Any]:
    offset = int(page_token) if page_token and page_token.isdigit() else 0
    rest, prompts = split_prompt_clause(filter)
    found = backend.registered_models.search(rest, max_results=max_results, offset=offset)
    chosen = [m for m in found if prompts is None or is_prompt(m.tags) is prompts]
    answer: dict[str, Any] = {"registered_models": [_model(backend, m) for m in chosen]}
    if len(found) == max_results:  # a full page: there may be more
        answer["next_page_token"] = str(offset + max_results)
    return answer


@router.post("/get-latest-versions")
def latest_versions(body: LatestVersions, backend: Backend) -> dict[str, Any]:
    return {"model_versions": _latest(backend, body.name, body.stages)}


@router.get("/get-latest-versions")
def latest_versions_get(
    name: str, backend: Backend, stages: Annotated[list[str] | None, Query()] = None
) -> dict[str, Any]:
    return {"model_versions": _latest(backend, name, stages)}


@router.post("/set-tag")
def set_tag(body: ModelTag, backend: Backend) -> dict[str, Any]:
    backend.registered_models.set_tag(body.name, body.key, body.value)
    return {}


@router.delete("/delete-tag")
def delete_tag(body: DeleteModelTag, backend: Backend) -> dict[str, Any]:
    backend.registered_models.delete_tag(body.name, body.key)
    return {}


@router.post("/alias")
def set_alias(body: SetAlias, backend: Backend) -> dict[str, Any]:
    backend.aliases.set(body.name, body.alias, body.version)
    return {}


@router.delete("/alias")
def delete_alias(body: DeleteAlias, backend: Backend) -> dict[str, Any]:
    backend.aliases.delete(body.name, body.alias)
    return {}


@router.get("/alias")
def get_by_alias(name: str, alias: str, backend: Backend) -> dict[str, Any]:
    return {"model_version": wire.model_version(backend, backend.aliases.get_version(name, alias))}
