"""The in-process executor: steps run one at a time in a worker thread of this process.

The default, and the one that debugs best (breakpoints work, nothing is pickled). A timed-out
attempt is abandoned, not stopped: Python cannot kill a thread, so its thread runs to the end in
the background; use the local-process executor when a step must really be stopped.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from modelyard.pipelines.executors.base import StepTask, StepTimeout, TaskOutcome, with_retries


class InProcessExecutor:
    """One step at a time, in this process."""

    name = "inprocess"

    def __init__(self, max_workers: int = 1) -> None:
        self.max_workers = max_workers
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="modelyard-step")

    def submit(self, task: StepTask) -> Future[TaskOutcome]:
        return self._pool.submit(with_retries, task, lambda: _attempt(task))

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)


def _attempt(task: StepTask) -> Any:
    timeout = task.step.timeout_s
    if timeout is None:
        return task.step.fn(**task.kwargs)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = task.step.fn(**task.kwargs)
        except BaseException as exc:
            box["error"] = exc

    worker = threading.Thread(target=target, name=f"modelyard-step-{task.step_id}", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise StepTimeout(f"no result after {timeout:g} s")
    if "error" in box:
        raise box["error"]
    return box["value"]
