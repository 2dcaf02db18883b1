"""``/api/v1/datasets``: content-addressed dataset versions, their content, and run inputs.

A client uploads a version as Parquet (the body, streamed to disk); the server computes the
digest itself from the content, so a version's name is never what a client claims.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import pyarrow.parquet as pq
from fastapi import APIRouter, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from modelyard.domain.data import DatasetRole
from modelyard.errors import InvalidInput
from modelyard.server.deps import ActorDep, BackendDep
from modelyard.server.errors import ERROR_RESPONSES
from modelyard.server.limits import RequestTooLarge
from modelyard.server.pagination import DEFAULT_PAGE, MaxResults, PageToken, page_of, paginate
from modelyard.server.schemas.data import DatasetDiffOut, DatasetOut, DatasetVersionOut, RunInputIn, RunInputOut

router = APIRouter(prefix="/api/v1", tags=["datasets"], responses=ERROR_RESPONSES)
Uri = Query(min_length=1, max_length=1000, description="datasets:/<name>@<digest prefix>")
PARQUET = "application/vnd.apache.parquet"


@router.post(
    "/datasets/{name}/versions",
    response_model=DatasetVersionOut,
    status_code=status.HTTP_201_CREATED,
    openapi_extra={
        "requestBody": {"required": True, "content": {PARQUET: {"schema": {"type": "string", "format": "binary"}}}}
    },
)
async def log_dataset(
    name: str,
    request: Request,
    backend: BackendDep,
    actor: ActorDep,
    role: DatasetRole = DatasetRole.TRAIN,
    source: str | None = Query(default=None, max_length=2000),
    run_id: str | None = Query(default=None, max_length=64),
) -> Any:
    """Store the Parquet body as a version of ``name`` (the same content is the same version)."""
    limit: int = request.app.state.limits.max_artifact_bytes
    with tempfile.TemporaryDirectory(prefix="modelyard-dataset-") as tmp:
        local = os.path.join(tmp, "data.parquet")
        size = 0
        with open(local, "wb") as handle:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise RequestTooLarge(f"dataset is over the server's limit of {limit} bytes", limit=limit)
                handle.write(chunk)

        def store() -> Any:
            try:
                table = pq.read_table(local)
            except Exception as exc:  # pyarrow raises several types for a body that is not Parquet
                raise InvalidInput(f"the body is not a Parquet file: {exc}") from None
            return backend.datasets.log(table, name, role=role, source=source, run_id=run_id, user=actor.name)

        return await run_in_threadpool(store)


@router.get("/datasets", response_model=page_of(DatasetOut))
def list_datasets(backend: BackendDep, max_results: MaxResults = DEFAULT_PAGE, page_token: PageToken = None) -> Any:
    return paginate(backend.datasets.list_datasets(), max_results, page_token)


@router.get("/datasets/resolve", response_model=DatasetVersionOut)
def resolve_dataset(backend: BackendDep, uri: str = Uri) -> Any:
    return backend.datasets.resolve(uri)


@router.get("/datasets/content", response_class=Response, responses={200: {"content": {PARQUET: {}}}})
def dataset_content(backend: BackendDep, uri: str = Uri) -> Response:
    """The version's canonical Parquet bytes (checked against its digest on the server)."""
    version = backend.datasets.resolve(uri)
    return Response(backend.datasets.read_bytes(version), media_type=PARQUET)


@router.get("/datasets/runs", response_model=page_of(RunInputOut))
def runs_of_dataset(
    backend: BackendDep, uri: str = Uri, max_results: MaxResults = DEFAULT_PAGE, page_token: PageToken = None
) -> Any:
    """The runs that used a dataset version (a version many runs train on has many)."""
    return paginate(backend.datasets.runs_of(backend.datasets.resolve(uri)), max_results, page_token)


@router.get("/datasets/diff", response_model=DatasetDiffOut)
def diff_datasets(backend: BackendDep, a: str = Uri, b: str = Uri) -> Any:
    return backend.datasets.diff(a, b)


@router.get("/datasets/{name}/versions", response_model=page_of(DatasetVersionOut))
def list_dataset_versions(
    name: str, backend: BackendDep, max_results: MaxResults = DEFAULT_PAGE, page_token: PageToken = None
) -> Any:
    return paginate(backend.datasets.list_versions(name), max_results, page_token)


@router.post("/runs/{run_id}/inputs", response_model=RunInputOut, status_code=status.HTTP_201_CREATED)
def add_run_input(run_id: str, body: RunInputIn, backend: BackendDep) -> Any:
    return backend.datasets.add_input(body.uri, run_id, body.role, label=body.label)


@router.get("/runs/{run_id}/inputs", response_model=list[RunInputOut])  # type: ignore[valid-type]
def run_inputs(run_id: str, backend: BackendDep) -> Any:
    return backend.datasets.inputs_of_run(run_id)
