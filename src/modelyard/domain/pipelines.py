"""Pipeline records: a pipeline run, the runs of its steps, and the step cache.

A pipeline run shares its id with the tracking run that parents its steps' runs, so the run
browser, lineage and ``pipelines show`` all name it the same way. A step output is described by
an ``ArtifactRef``: which materializer wrote it, where it lives and the digest of its content,
which is what downstream cache keys are built from.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

STEP_TAG = "modelyard.step"
"""The tag naming the step a pipeline step's run ran (its value: the step id)."""
STEP_BOOKKEEPING_METRICS: tuple[str, ...] = ("duration_s", "attempts")
"""Metrics the runner logs on every step's run about the run itself, not about a model."""


class StepStatus(enum.StrEnum):
    """Where a step of one pipeline run stands."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"  # executed in this run
    CACHED = "CACHED"  # skipped: a stored output with the same cache key was reused
    REUSED = "REUSED"  # skipped on resume: the output of the run being resumed was reused
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"  # never started because a step upstream failed

    @property
    def produced_output(self) -> bool:
        return self in (StepStatus.COMPLETED, StepStatus.CACHED, StepStatus.REUSED)


class PipelineStatus(enum.StrEnum):
    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"


@dataclass(frozen=True, kw_only=True)
class ArtifactRef:
    """A stored step output: ``location`` is a URI the materializer named ``kind`` can load."""

    kind: str
    location: str
    digest: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "location": self.location, "digest": self.digest}


@dataclass(frozen=True, kw_only=True)
class PipelineRun:
    """One execution of a pipeline; ``run_id`` is also the parent tracking run's id."""

    run_id: str
    pipeline: str
    target: str  # "module:attribute", what ``pipelines resume`` re-imports
    params: dict[str, Any]
    status: PipelineStatus
    executor: str
    use_cache: bool
    created_at: int
    ended_at: int | None = None
    resumed_from: str | None = None


@dataclass(frozen=True, kw_only=True)
class StepRun:
    """One step of one pipeline run; ``run_id`` is the step's child tracking run (None if never started)."""

    pipeline_run_id: str
    step_id: str
    status: StepStatus
    run_id: str | None = None
    cache_key: str | None = None
    output: ArtifactRef | None = None
    attempts: int = 0
    error: str | None = None
    started_at: int | None = None
    ended_at: int | None = None
    upstream: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True, kw_only=True)
class CacheEntry:
    """A reusable step output, found by the hash of the step's code, parameters and input digests."""

    cache_key: str
    pipeline: str
    step_id: str
    run_id: str
    output: ArtifactRef
    created_at: int
