"""MLflow 3's logged-model calls: create, get, finalize, tags, params and search.

``mlflow.<flavor>.log_model`` creates a model (a reservation of ``<run artifacts>/<name>``),
uploads its files there through the artifact proxy, and finalizes it; finalizing records it as
a modelyard logged model, so ``runs:/<run>/<name>``, lineage and registration work on it as on
any other. A model created outside a run gets a run of its own to hold it.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request

from modelyard.domain.model_uploads import ModelUpload
from modelyard.domain.registry import LoggedModel
from modelyard.domain.tracking import RunStatus
from modelyard.errors import InvalidInput
from modelyard.server.mlflow_compat import _models as models
from modelyard.server.mlflow_compat._bodies import Body, KeyValue, PageSize, as_dict
from modelyard.server.mlflow_compat._deps import Backend, experiment_id_in, request_user
from modelyard.server.mlflow_compat._errors import MlflowRoute

router = APIRouter(prefix="/logged-models", route_class=MlflowRoute, tags=["mlflow: logged models"])


class CreateLoggedModel(Body):
    experiment_id: str = "0"
    name: str | None = None
    source_run_id: str | None = None
    model_type: str | None = None
    params: list[KeyValue] = []
    tags: list[KeyValue] = []


class FinalizeLoggedModel(Body):
    status: str


class LoggedModelTags(Body):
    tags: list[KeyValue] = []


class SearchLoggedModels(Body):
    experiment_ids: list[str] = []
    filter: str | None = None
    max_results: PageSize = 100
    page_token: str | None = None


@router.post("")
def create(body: CreateLoggedModel, request: Request, backend: Backend) -> dict[str, Any]:
    name = body.name or "model"
    run_id = body.source_run_id
    if not run_id:
        holder = backend.runs.create(
            experiment_id_in(backend, body.experiment_id), user=request_user(request, backend, None), run_name=name
        )
        backend.runs.end(holder.info.run_id, RunStatus.FINISHED)
        run_id = holder.info.run_id
    tags = as_dict(body.tags)
    if body.model_type:
        tags.setdefault("mlflow.modelType", body.model_type)
    upload = backend.model_uploads.begin(run_id, name, tags=tags)
    return {"model": models.logged_model(backend, upload)}


@router.post("/search")
def search(body: SearchLoggedModels, backend: Backend) -> dict[str, Any]:
    wanted = _filter(body.filter)
    finished, uploads = backend.model_uploads.search(
        [experiment_id_in(backend, e) for e in body.experiment_ids], name=wanted.get("name")
    )
    candidates: list[LoggedModel | ModelUpload] = [*finished, *uploads]
    found = [m for m in candidates if _matches(m, wanted)]
    offset = int(body.page_token) if body.page_token and body.page_token.isdigit() else 0
    page = found[offset : offset + body.max_results]
    answer: dict[str, Any] = {"models": [models.logged_model(backend, m) for m in page]}
    if offset + body.max_results < len(found):
        answer["next_page_token"] = str(offset + body.max_results)
    return answer


@router.get("/{model_id}")
def get(model_id: str, backend: Backend) -> dict[str, Any]:
    return {"model": models.logged_model(backend, models.find(backend, model_id))}


@router.patch("/{model_id}")
def finalize(model_id: str, body: FinalizeLoggedModel, backend: Backend) -> dict[str, Any]:
    found = models.find(backend, model_id)
    if isinstance(found, ModelUpload):
        status = body.status.upper()
        if status in ("LOGGED_MODEL_READY", "READY"):
            found = backend.model_uploads.finish(model_id, flavor=models.flavor_of(backend, found))
        elif status in ("LOGGED_MODEL_UPLOAD_FAILED", "UPLOAD_FAILED"):
            backend.model_uploads.fail(model_id)
            found = models.find(backend, model_id)
        else:
            raise InvalidInput(f"cannot finalize a model as {body.status!r}; use LOGGED_MODEL_READY or UPLOAD_FAILED")
    return {"model": models.logged_model(backend, found)}


@router.patch("/{model_id}/tags")
def set_tags(model_id: str, body: LoggedModelTags, backend: Backend) -> dict[str, Any]:
    backend.model_uploads.set_tags(model_id, as_dict(body.tags))
    return {}


@router.delete("/{model_id}/tags/{key:path}")
def delete_tag(model_id: str, key: str, backend: Backend) -> dict[str, Any]:
    backend.model_uploads.delete_tag(model_id, key)
    return {}


@router.post("/{model_id}/params")
def log_params(model_id: str, backend: Backend) -> dict[str, Any]:
    """A logged model's params are its run's params (MLflow copies them from the run)."""
    models.find(backend, model_id)
    return {}


_CLAUSE = re.compile(r"""^\s*(?P<field>name|source_run_id|model_id)\s*=\s*(?:'(?P<sq>[^']*)'|"(?P<dq>[^"]*)")\s*$""")


def _filter(text: str | None) -> dict[str, str]:
    """``name``, ``source_run_id`` and ``model_id`` equalities joined by AND (what clients send)."""
    wanted: dict[str, str] = {}
    if text and text.strip():
        for part in re.split(r"\s+AND\s+", text.strip(), flags=re.IGNORECASE):
            clause = _CLAUSE.match(part)
            if clause is None:
                raise InvalidInput(
                    f"cannot read the logged-model filter clause {part.strip()!r}; "
                    "this server filters on name, source_run_id and model_id with '='"
                )
            wanted[clause["field"]] = clause["sq"] if clause["sq"] is not None else clause["dq"]
    return wanted


def _matches(found: LoggedModel | ModelUpload, wanted: dict[str, str]) -> bool:
    return (
        wanted.get("source_run_id", found.run_id) == found.run_id
        and wanted.get("model_id", found.model_id) == found.model_id
    )
