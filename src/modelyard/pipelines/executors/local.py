"""The local-process executor: each attempt of a step runs in a fresh ``spawn``-ed interpreter.

Independent steps run in parallel, up to ``max_workers`` (the machine's cores by default). A child
imports the step's module, computes the value and sends it back through a pipe; an attempt that
exceeds ``timeout_s`` is killed. ``spawn`` rather than ``fork``: the parent has threads (the
metric writer, the database pool) that a forked child would inherit in an unknown state.
"""

from __future__ import annotations

import multiprocessing
import os
import traceback
from concurrent.futures import Future, ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any

from modelyard.pipelines.executors.base import StepTask, StepTimeout, TaskOutcome, with_retries
from modelyard.pipelines.steps import Step


class ChildProcessError(Exception):
    """The step raised in its child process; the message carries the child's traceback."""


class LocalProcessExecutor:
    """Steps in child processes, several at once."""

    name = "local"

    def __init__(self, max_workers: int | None = None) -> None:
        self.max_workers = max_workers or os.cpu_count() or 1
        self._pool = ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="modelyard-proc")
        self._context = multiprocessing.get_context("spawn")

    def submit(self, task: StepTask) -> Future[TaskOutcome]:
        return self._pool.submit(with_retries, task, lambda: self._attempt(task))

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)

    def _attempt(self, task: StepTask) -> Any:
        receiver, sender = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=_child_main, args=(sender, task.step, task.kwargs), name=f"modelyard-step-{task.step_id}"
        )
        process.start()
        sender.close()
        try:
            if not receiver.poll(task.step.timeout_s):
                process.kill()
                raise StepTimeout(f"no result after {task.step.timeout_s:g} s; the step's process was killed")
            try:
                status, payload = receiver.recv()
            except EOFError:
                process.join()
                raise ChildProcessError(f"the step's process died with exit code {process.exitcode}") from None
        finally:
            receiver.close()
            process.join()
        if status == "error":
            raise ChildProcessError(payload)
        return payload


def _child_main(sender: Connection, step: Step, kwargs: dict[str, Any]) -> None:
    try:
        value = step.fn(**kwargs)
    except BaseException as exc:
        sender.send(("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))
    else:
        sender.send(("ok", value))
    finally:
        sender.close()
