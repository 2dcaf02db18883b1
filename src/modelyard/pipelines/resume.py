"""Resuming a failed pipeline run: the same pipeline and params, reusing what the run produced."""

from __future__ import annotations

from modelyard.config import Settings
from modelyard.domain.pipelines import PipelineStatus
from modelyard.errors import InvalidInput
from modelyard.pipelines.definition import load_pipeline
from modelyard.pipelines.records import get_pipeline_run
from modelyard.pipelines.runner import PipelineResult, StepListener, run_pipeline
from modelyard.sdk.client import Client


def resume_pipeline(
    run_id: str,
    *,
    settings: Settings | None = None,
    client: Client | None = None,
    executor: str | None = None,
    on_step: StepListener | None = None,
) -> PipelineResult:
    """Run again the pipeline of run ``run_id`` with its params, reusing what it had produced."""
    client = client or Client(settings)
    previous = get_pipeline_run(client, run_id)
    if previous.status is PipelineStatus.FINISHED:
        raise InvalidInput(f"pipeline run {run_id} finished; there is nothing to resume")
    pipeline = load_pipeline(previous.target)
    return run_pipeline(
        pipeline,
        previous.params,
        executor=executor or previous.executor,
        cache=previous.use_cache,
        client=client,
        on_step=on_step,
        resume_from=run_id,
    )
