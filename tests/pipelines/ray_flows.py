"""A step with resource hints, for the Ray executor test: it reports what Ray gave its task."""

from __future__ import annotations

import os

from modelyard.pipelines import pipeline, step

MEMORY = 64 * 1024 * 1024


@step(num_cpus=2, memory=MEMORY, cache=False)
def hinted(label: str) -> dict[str, float]:
    import ray  # only ever runs inside a Ray task

    resources = ray.get_runtime_context().get_assigned_resources()
    return {"cpus": resources.get("CPU", 0.0), "memory": resources.get("memory", 0.0), "pid": float(os.getpid())}


@pipeline
def resourced(label: str = "x") -> None:
    hinted(label)
