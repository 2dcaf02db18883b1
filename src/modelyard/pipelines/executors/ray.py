"""The Ray executor: each step attempt is a Ray task, placed by its resource hints.

``address`` (``Settings.ray_address``, ``MODELYARD_RAY_ADDRESS``) names an existing cluster
(``ray://head:10001`` or ``auto``); without one, a local Ray instance is started for the pipeline
run and stopped after it. A Ray instance that is already initialised in this process (a notebook,
a test) is used as it is and left running.

A task gets the step (pickled by reference: the step's module must be importable on the workers,
for example shipped with a runtime environment) and its loaded inputs, and returns the value; the
orchestrator stores it, as with the other executors. Retries and their backoff are the
orchestrator's (``with_retries``, Ray's own retries are off so attempts are counted once); an
attempt over ``timeout_s`` has its task force-cancelled, which kills the worker running it.
``num_cpus``/``num_gpus``/``memory`` from ``@step`` become the task's resource request.
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import ray
from ray.exceptions import GetTimeoutError, RayTaskError

from modelyard.errors import BackendUnavailable
from modelyard.pipelines.executors.base import StepTask, StepTimeout, TaskOutcome, with_retries
from modelyard.pipelines.steps import Step


class RayStepError(Exception):
    """The step raised in its Ray task; the message carries the worker's error."""


def _run_step(step: Step, kwargs: dict[str, Any]) -> Any:
    return step.fn(**kwargs)


_remote_step = ray.remote(_run_step)


def resource_options(step: Step) -> dict[str, Any]:
    """The Ray task options for ``step``: its resource hints, and no Ray-side retries."""
    options: dict[str, Any] = {"max_retries": 0, "retry_exceptions": False}
    if step.num_cpus is not None:
        options["num_cpus"] = step.num_cpus
    if step.num_gpus is not None:
        options["num_gpus"] = step.num_gpus
    if step.memory is not None:
        options["memory"] = step.memory
    return options


class RayExecutor:
    """Steps as Ray tasks, as many at once as the cluster's resources allow (up to ``max_workers``
    submitted by this run at a time)."""

    name = "ray"

    def __init__(self, address: str | None = None, max_workers: int | None = None) -> None:
        self._owns_ray = False
        if not ray.is_initialized():
            try:
                ray.init(address=address, include_dashboard=False, log_to_driver=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = address or "a local instance"
                raise BackendUnavailable(f"cannot start or reach Ray at {where}: {exc}") from exc
            self._owns_ray = True
        cluster_cpus = int(ray.cluster_resources().get("CPU", 0)) or os.cpu_count() or 1  # type: ignore[no-untyped-call]
        self.max_workers = max_workers or cluster_cpus
        self._pool = ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="modelyard-ray")

    def submit(self, task: StepTask) -> Future[TaskOutcome]:
        return self._pool.submit(with_retries, task, lambda: self._attempt(task))

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)
        if self._owns_ray:
            ray.shutdown()

    def _attempt(self, task: StepTask) -> Any:
        ref = _remote_step.options(**resource_options(task.step)).remote(task.step, task.kwargs)
        try:
            return ray.get(ref, timeout=task.step.timeout_s)
        except GetTimeoutError:
            ray.cancel(ref, force=True)
            raise StepTimeout(f"no result after {task.step.timeout_s:g} s; the step's Ray task was cancelled") from None
        except RayTaskError as exc:
            cause = exc.cause if exc.cause is not None else exc
            raise RayStepError(f"{type(cause).__name__}: {cause}\n{exc}") from None
