"""``/api/v1/runs``: a run's life, params, tags, batches, heartbeats and search.

The run's ``user`` is the authenticated caller, whatever the body says.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, status

from modelyard.domain.tracking import Environment, SourceInfo
from modelyard.server.deps import ActorDep, BackendDep
from modelyard.server.errors import ERROR_RESPONSES
from modelyard.server.pagination import DEFAULT_PAGE, MaxResults, PageToken, page_of, paginate
from modelyard.server.schemas.tracking import (
    BatchIn,
    GcIn,
    ParamsIn,
    PurgeIn,
    PurgeOut,
    RunCreate,
    RunEnd,
    RunIdOut,
    RunIds,
    RunIdsOut,
    RunOut,
    RunPage,
    RunRename,
    SearchIn,
    TagsIn,
)

router = APIRouter(prefix="/api/v1/runs", tags=["runs"], responses=ERROR_RESPONSES)


@router.post("", response_model=RunOut, status_code=status.HTTP_201_CREATED)
def create_run(body: RunCreate, backend: BackendDep, actor: ActorDep) -> Any:
    return backend.runs.create(
        body.experiment_id,
        user=actor.name,
        run_name=body.run_name,
        tags=body.tags,
        parent_run_id=body.parent_run_id,
        source=SourceInfo(**body.source.model_dump()) if body.source else None,
        environment=Environment(**body.environment.model_dump()) if body.environment else None,
        start_time=body.start_time,
    )


@router.post("/search", response_model=RunPage)
def search_runs(body: SearchIn, backend: BackendDep) -> dict[str, Any]:
    """Runs of the experiments matching ``filter`` (the SDK's filter language), in pages."""
    page = backend.search.search(
        body.experiment_ids,
        body.filter or None,
        body.order_by,
        max_results=body.max_results,
        page_token=body.page_token,
        view=body.view,
    )
    return {"items": list(page), "next_page_token": page.token}


@router.post("/get-many", response_model=list[RunOut])  # type: ignore[valid-type]
def get_runs(body: RunIds, backend: BackendDep) -> Any:
    return backend.runs.get_many(body.run_ids)


@router.get("/resolve-id", response_model=RunIdsOut)
def resolve_run_id(backend: BackendDep, prefix: str = Query(min_length=1, max_length=64)) -> dict[str, Any]:
    """The full id of the run a unique id prefix names (what the CLI accepts)."""
    return {"run_ids": [backend.runs.resolve_id(prefix)]}


@router.post("/heartbeat", status_code=status.HTTP_204_NO_CONTENT)
def heartbeat(body: RunIds, backend: BackendDep) -> None:
    backend.runs.heartbeat(body.run_ids)


@router.post("/gc", response_model=RunIdsOut)
def gc_runs(body: GcIn, backend: BackendDep) -> dict[str, Any]:
    """End as KILLED the runs whose heartbeat is older than ``timeout_s``."""
    return {"run_ids": backend.runs.gc(body.timeout_s)}


@router.post("/gc/purge-deleted", response_model=PurgeOut)
def purge_deleted_runs(body: PurgeIn, backend: BackendDep) -> Any:
    """Remove deleted runs for good (``runs gc --purge-deleted``); runs lineage needs stay, reported."""
    return backend.purge.purge_deleted(
        older_than_ms=body.deleted_older_than_ms,
        run_ids=body.run_ids,
        experiment_ids=body.experiment_ids,
        dry_run=body.dry_run,
    )


@router.get("/{run_id}", response_model=RunOut)
def get_run(run_id: str, backend: BackendDep) -> Any:
    return backend.runs.get(run_id)


@router.get("/{run_id}/children", response_model=page_of(RunIdOut))
def run_children(
    run_id: str, backend: BackendDep, max_results: MaxResults = DEFAULT_PAGE, page_token: PageToken = None
) -> dict[str, Any]:
    """The ids of the run's child runs (a sweep has thousands)."""
    children = [{"run_id": child} for child in backend.runs.children(run_id)]
    return paginate(children, max_results, page_token)


@router.post("/{run_id}/end", status_code=status.HTTP_204_NO_CONTENT)
def end_run(run_id: str, body: RunEnd, backend: BackendDep) -> None:
    """End the run, storing ``metrics`` (the client's last buffered ones) in the same transaction."""
    backend.runs.end(run_id, body.status, end_time=body.end_time, metrics=[m.to_domain() for m in body.metrics])


@router.post("/{run_id}/reopen", status_code=status.HTTP_204_NO_CONTENT)
def reopen_run(run_id: str, backend: BackendDep) -> None:
    backend.runs.reopen(run_id)


@router.patch("/{run_id}", status_code=status.HTTP_204_NO_CONTENT)
def rename_run(run_id: str, body: RunRename, backend: BackendDep) -> None:
    backend.runs.rename(run_id, body.name)


@router.delete("/{run_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_run(run_id: str, backend: BackendDep) -> None:
    backend.runs.delete(run_id)


@router.post("/{run_id}/restore", status_code=status.HTTP_204_NO_CONTENT)
def restore_run(run_id: str, backend: BackendDep) -> None:
    backend.runs.restore(run_id)


@router.post("/{run_id}/params", status_code=status.HTTP_204_NO_CONTENT)
def log_params(run_id: str, body: ParamsIn, backend: BackendDep) -> None:
    backend.runs.log_params(run_id, body.params)


@router.post("/{run_id}/tags", status_code=status.HTTP_204_NO_CONTENT)
def set_tags(run_id: str, body: TagsIn, backend: BackendDep) -> None:
    backend.runs.set_tags(run_id, body.tags)


@router.delete("/{run_id}/tags/{key}", status_code=status.HTTP_204_NO_CONTENT)
def delete_tag(run_id: str, key: str, backend: BackendDep) -> None:
    backend.runs.delete_tag(run_id, key)


@router.post("/{run_id}/batch", status_code=status.HTTP_204_NO_CONTENT)
def log_batch(run_id: str, body: BatchIn, backend: BackendDep) -> None:
    """Metrics, params and tags in one transaction."""
    backend.runs.log_batch(run_id, metrics=[m.to_domain() for m in body.metrics], params=body.params, tags=body.tags)
