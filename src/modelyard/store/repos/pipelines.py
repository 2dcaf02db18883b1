"""Pipeline runs, step runs and cache entries: rows in, domain records out.

A cache entry is written with ``ON CONFLICT DO NOTHING``: two runs that computed the same key at
once both produced valid outputs, and whichever was stored first is the one later runs reuse.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, select, update

from modelyard.domain.pipelines import (
    ArtifactRef,
    CacheEntry,
    PipelineRun,
    PipelineStatus,
    StepRun,
    StepStatus,
)
from modelyard.store.repos._upsert import upsert
from modelyard.store.tables.pipelines import pipeline_cache_entries, pipeline_runs, pipeline_step_runs


def insert_run(conn: Connection, run: PipelineRun) -> None:
    conn.execute(
        pipeline_runs.insert().values(
            run_id=run.run_id,
            pipeline=run.pipeline,
            target=run.target,
            params=json.dumps(run.params, sort_keys=True, default=repr),
            status=run.status.value,
            executor=run.executor,
            use_cache=run.use_cache,
            created_at=run.created_at,
            ended_at=run.ended_at,
            resumed_from=run.resumed_from,
        )
    )


def end_run(conn: Connection, run_id: str, status: PipelineStatus, *, now_ms: int) -> None:
    conn.execute(
        update(pipeline_runs).where(pipeline_runs.c.run_id == run_id).values(status=status.value, ended_at=now_ms)
    )


def get_run(conn: Connection, run_id: str) -> PipelineRun | None:
    row = conn.execute(select(pipeline_runs).where(pipeline_runs.c.run_id == run_id)).first()
    return None if row is None else _run(row)


def list_runs(conn: Connection, *, pipeline: str | None = None, limit: int = 100) -> list[PipelineRun]:
    """Pipeline runs, newest first."""
    query = select(pipeline_runs).order_by(pipeline_runs.c.created_at.desc(), pipeline_runs.c.run_id).limit(limit)
    if pipeline is not None:
        query = query.where(pipeline_runs.c.pipeline == pipeline)
    return [_run(r) for r in conn.execute(query)]


def save_step(conn: Connection, step: StepRun, *, position: int) -> None:
    """Insert or replace the state of one step of one pipeline run."""
    row: dict[str, Any] = {
        "pipeline_run_id": step.pipeline_run_id,
        "step_id": step.step_id,
        "position": position,
        "status": step.status.value,
        "run_id": step.run_id,
        "cache_key": step.cache_key,
        "output_kind": step.output.kind if step.output else None,
        "output_location": step.output.location if step.output else None,
        "output_digest": step.output.digest if step.output else None,
        "attempts": step.attempts,
        "error": step.error,
        "started_at": step.started_at,
        "ended_at": step.ended_at,
        "upstream": json.dumps(list(step.upstream)),
    }
    columns = [k for k in row if k not in ("pipeline_run_id", "step_id")]
    upsert(conn, pipeline_step_runs, [row], keys=("pipeline_run_id", "step_id"), update=columns)


def list_steps(conn: Connection, pipeline_run_id: str) -> list[StepRun]:
    """The steps of a pipeline run, in the order they were declared."""
    rows = conn.execute(
        select(pipeline_step_runs)
        .where(pipeline_step_runs.c.pipeline_run_id == pipeline_run_id)
        .order_by(pipeline_step_runs.c.position)
    )
    return [_step(r) for r in rows]


def get_cache(conn: Connection, cache_key: str) -> CacheEntry | None:
    row = conn.execute(select(pipeline_cache_entries).where(pipeline_cache_entries.c.cache_key == cache_key)).first()
    if row is None:
        return None
    return CacheEntry(
        cache_key=row.cache_key,
        pipeline=row.pipeline,
        step_id=row.step_id,
        run_id=row.run_id,
        output=ArtifactRef(kind=row.output_kind, location=row.output_location, digest=row.output_digest),
        created_at=row.created_at,
    )


def put_cache(conn: Connection, entries: Sequence[CacheEntry]) -> None:
    rows = [
        {
            "cache_key": e.cache_key,
            "pipeline": e.pipeline,
            "step_id": e.step_id,
            "run_id": e.run_id,
            "output_kind": e.output.kind,
            "output_location": e.output.location,
            "output_digest": e.output.digest,
            "created_at": e.created_at,
        }
        for e in entries
    ]
    upsert(conn, pipeline_cache_entries, rows, keys=("cache_key",), update=())


def _run(row: Row) -> PipelineRun:  # type: ignore[type-arg]
    return PipelineRun(
        run_id=row.run_id,
        pipeline=row.pipeline,
        target=row.target,
        params=json.loads(row.params),
        status=PipelineStatus(row.status),
        executor=row.executor,
        use_cache=bool(row.use_cache),
        created_at=row.created_at,
        ended_at=row.ended_at,
        resumed_from=row.resumed_from,
    )


def _step(row: Row) -> StepRun:  # type: ignore[type-arg]
    output = None
    if row.output_kind is not None:
        output = ArtifactRef(kind=row.output_kind, location=row.output_location, digest=row.output_digest)
    return StepRun(
        pipeline_run_id=row.pipeline_run_id,
        step_id=row.step_id,
        status=StepStatus(row.status),
        run_id=row.run_id,
        cache_key=row.cache_key,
        output=output,
        attempts=row.attempts,
        error=row.error,
        started_at=row.started_at,
        ended_at=row.ended_at,
        upstream=tuple(json.loads(row.upstream)),
    )
