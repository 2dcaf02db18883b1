"""Pipeline runs and their steps as recorded in the store: what ``pipelines runs`` and ``show`` read.

Kept apart from the runner so that reading a pipeline's history does not load what running one
needs (executors, materializers, the model stack).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelyard.domain.pipelines import PipelineRun, StepRun
from modelyard.errors import NotFound
from modelyard.store.repos import pipelines as pipeline_rows

if TYPE_CHECKING:
    from modelyard.sdk.client import Client


def get_pipeline_run(client: Client, run_id: str) -> PipelineRun:
    with client.backend.db.read() as conn:
        found = pipeline_rows.get_run(conn, run_id)
    if found is None:
        raise NotFound(f"no pipeline run with id {run_id!r}")
    return found


def list_pipeline_runs(client: Client, *, pipeline: str | None = None, limit: int = 100) -> list[PipelineRun]:
    with client.backend.db.read() as conn:
        return pipeline_rows.list_runs(conn, pipeline=pipeline, limit=limit)


def list_step_runs(client: Client, run_id: str) -> list[StepRun]:
    get_pipeline_run(client, run_id)
    with client.backend.db.read() as conn:
        return pipeline_rows.list_steps(conn, run_id)
