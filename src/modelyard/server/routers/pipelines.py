"""``/api/v1/pipeline-runs`` and ``/api/v1/schedules``: pipeline runs with their steps, and the
schedules that start them (read here; pipelines run where their code is, with the SDK)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from modelyard.domain.pipelines import PipelineRun, StepRun
from modelyard.domain.schedules import Schedule
from modelyard.pipelines import get_pipeline_run, list_pipeline_runs, list_step_runs
from modelyard.pipelines.triggers import get_schedule, list_schedules
from modelyard.sdk.client import Client
from modelyard.server.errors import ERROR_RESPONSES
from modelyard.server.pagination import DEFAULT_PAGE, MaxResults, PageToken, page_of, paginate
from modelyard.server.schemas import Schema, schema_for

router = APIRouter(prefix="/api/v1", tags=["pipelines"], responses=ERROR_RESPONSES)
PipelineRunOut = schema_for(PipelineRun)
StepRunOut = schema_for(StepRun)
ScheduleOut = schema_for(Schedule)


class PipelineRunDetail(Schema):
    run: PipelineRunOut  # type: ignore[valid-type]
    steps: list[StepRunOut]  # type: ignore[valid-type]


def _client(request: Request) -> Client:
    """The pipelines' read functions take a ``Client``; one over the server's store serves them."""
    client: Client | None = getattr(request.app.state, "pipelines_client", None)
    if client is None:
        client = request.app.state.pipelines_client = Client(request.app.state.settings)
    return client


@router.get("/pipeline-runs", response_model=page_of(PipelineRunOut))
def pipeline_runs(
    request: Request,
    pipeline: str | None = Query(default=None, max_length=256),
    max_results: MaxResults = DEFAULT_PAGE,
    page_token: PageToken = None,
) -> Any:
    """Pipeline runs, newest first (the newest 10,000)."""
    return paginate(list_pipeline_runs(_client(request), pipeline=pipeline, limit=10_000), max_results, page_token)


@router.get("/pipeline-runs/{run_id}", response_model=PipelineRunDetail)
def pipeline_run(run_id: str, request: Request) -> Any:
    client = _client(request)
    return {"run": get_pipeline_run(client, run_id), "steps": list_step_runs(client, run_id)}


@router.get("/schedules", response_model=page_of(ScheduleOut))
def schedules(request: Request, max_results: MaxResults = DEFAULT_PAGE, page_token: PageToken = None) -> Any:
    return paginate(list_schedules(_client(request)), max_results, page_token)


@router.get("/schedules/{schedule_id}", response_model=ScheduleOut)
def schedule(schedule_id: str, request: Request) -> Any:
    return get_schedule(_client(request), schedule_id)
