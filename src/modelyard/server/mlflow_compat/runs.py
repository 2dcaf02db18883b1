"""MLflow's run calls: create, get, update, delete, restore, params, tags, search and outputs.

MLflow keeps the run name, the parent run and the source as tags; modelyard keeps them as run
attributes, so the tags are read into attributes on the way in and written back out, and
``modelyard runs list``, lineage and search see the same run either way.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import APIRouter, Request

from modelyard.domain.tracking import RunStatus, SourceInfo
from modelyard.server.mlflow_compat import _wire as wire
from modelyard.server.mlflow_compat._bodies import Body, Int64, KeyValue, as_dict, run_id_of
from modelyard.server.mlflow_compat._deps import Backend, experiment_id_in, request_user
from modelyard.server.mlflow_compat._errors import MlflowRoute
from modelyard.server.mlflow_compat._heartbeats import alive
from modelyard.server.mlflow_compat._models import model_ids_of_run, record_outputs

router = APIRouter(prefix="/runs", route_class=MlflowRoute, tags=["mlflow: runs"])

SOURCE_NAME_TAG = "mlflow.source.name"
GIT_COMMIT_TAG = "mlflow.source.git.commit"
DATASET_TAG_PREFIX = "mlflow.dataset."
MAX_TAG_KEY, MAX_TAG_VALUE = 250, 8000


class CreateRun(Body):
    experiment_id: str = "0"
    user_id: str | None = None
    run_name: str | None = None
    start_time: Int64 | None = None
    tags: list[KeyValue] | None = None


class RunRef(Body):
    run_id: str | None = None
    run_uuid: str | None = None


class UpdateRun(RunRef):
    status: str | None = None
    end_time: Int64 | None = None
    run_name: str | None = None


class LogParam(RunRef):
    key: str
    value: str = ""


class SetTag(RunRef):
    key: str
    value: str = ""


class DeleteTag(RunRef):
    key: str


class SearchRuns(Body):
    experiment_ids: list[str] = []
    filter: str | None = None
    run_view_type: str = "ACTIVE_ONLY"
    max_results: int = 1000
    order_by: list[str] | None = None
    page_token: str | None = None


class ModelOutput(Body):
    model_id: str
    step: Int64 = 0


class DatasetBody(Body):
    name: str
    digest: str = ""
    source_type: str = ""
    source: str = ""


class DatasetInputBody(Body):
    tags: list[KeyValue] = []
    dataset: DatasetBody


class LogInputs(Body):
    run_id: str
    datasets: list[DatasetInputBody] = []


class LogOutputs(Body):
    run_id: str
    models: list[ModelOutput] = []


@router.post("/create")
def create(body: CreateRun, request: Request, backend: Backend) -> dict[str, Any]:
    tags = as_dict(body.tags)
    name = body.run_name or tags.get(wire.RUN_NAME_TAG)
    created = backend.runs.create(
        experiment_id_in(backend, body.experiment_id),
        user=request_user(request, backend, body.user_id or tags.get(wire.USER_TAG)),
        run_name=name,
        tags=tags,
        parent_run_id=tags.get(wire.PARENT_RUN_TAG) or None,
        source=SourceInfo(name=tags.get(SOURCE_NAME_TAG), git_commit=tags.get(GIT_COMMIT_TAG)),
        start_time=body.start_time,
    )
    return {"run": wire.run(backend, created)}


@router.get("/get")
def get(backend: Backend, run_id: str | None = None, run_uuid: str | None = None) -> dict[str, Any]:
    found = backend.runs.get(run_id_of(run_id, run_uuid))
    return {"run": wire.run(backend, found, model_ids_of_run(backend, found.info.run_id))}


@router.post("/update")
def update(body: UpdateRun, backend: Backend) -> dict[str, Any]:
    run_id = run_id_of(body.run_id, body.run_uuid)
    if body.run_name:
        backend.runs.rename(run_id, body.run_name)
    if body.status:
        status = body.status.upper()
        if status in ("RUNNING", "SCHEDULED"):
            if backend.runs.get(run_id).info.status is not RunStatus.RUNNING:
                backend.runs.reopen(run_id)
        else:
            backend.runs.end(run_id, status, end_time=body.end_time)
    return {"run_info": wire.run_info(backend, backend.runs.get(run_id).info)}


@router.post("/delete")
def delete(body: RunRef, backend: Backend) -> dict[str, Any]:
    backend.runs.delete(run_id_of(body.run_id, body.run_uuid))
    return {}


@router.post("/restore")
def restore(body: RunRef, backend: Backend) -> dict[str, Any]:
    backend.runs.restore(run_id_of(body.run_id, body.run_uuid))
    return {}


@router.post("/log-parameter")
def log_parameter(body: LogParam, backend: Backend) -> dict[str, Any]:
    run_id = run_id_of(body.run_id, body.run_uuid)
    backend.runs.log_params(run_id, {body.key: body.value})
    alive(backend, run_id)
    return {}


@router.post("/set-tag")
def set_tag(body: SetTag, backend: Backend) -> dict[str, Any]:
    run_id = run_id_of(body.run_id, body.run_uuid)
    if body.key == wire.RUN_NAME_TAG and body.value:
        backend.runs.rename(run_id, body.value)
    backend.runs.set_tags(run_id, {body.key: body.value})
    alive(backend, run_id)
    return {}


@router.post("/delete-tag")
def delete_tag(body: DeleteTag, backend: Backend) -> dict[str, Any]:
    backend.runs.delete_tag(run_id_of(body.run_id, body.run_uuid), body.key)
    return {}


@router.post("/search")
def search(body: SearchRuns, backend: Backend) -> dict[str, Any]:
    page = backend.search.search(
        [experiment_id_in(backend, e) for e in body.experiment_ids],
        body.filter or None,
        body.order_by or None,
        max_results=body.max_results,
        page_token=body.page_token or None,
        view=body.run_view_type,
    )
    answer: dict[str, Any] = {"runs": [wire.run(backend, r) for r in page]}
    if page.token:
        answer["next_page_token"] = page.token
    return answer


@router.post("/log-inputs")
def log_inputs(body: LogInputs, backend: Backend) -> dict[str, Any]:
    """MLflow's dataset inputs carry a description of the data, not the data, so they become run
    tags (``mlflow.dataset.<name>:<digest>``: source and context) rather than dataset versions."""
    tags = {}
    for item in body.datasets:
        data = item.dataset
        label = re.sub(r"[^\w\-./: ]", "_", f"{data.name}:{data.digest}")  # the characters tag keys allow
        key = f"{DATASET_TAG_PREFIX}{label}"[:MAX_TAG_KEY]
        described = {"source_type": data.source_type, "source": data.source, **as_dict(item.tags)}
        tags[key] = json.dumps(described)[:MAX_TAG_VALUE]
    if tags:
        backend.runs.set_tags(body.run_id, tags)
    return {}


@router.post("/outputs")
def log_outputs(body: LogOutputs, backend: Backend) -> dict[str, Any]:
    record_outputs(backend, body.run_id, [m.model_id for m in body.models])
    return {}
