"""The local-process executor: steps run in worker processes, several at once.

Independent steps run in parallel, up to ``max_workers`` (the machine's cores by default). Each
worker is a ``spawn``-ed interpreter that stays up for the pipeline run, so a step's imports
(pandas, scikit-learn, the step's own module) are paid once per worker, not once per step. A worker
receives a step (pickled by reference) and its arguments through a pipe and sends the value back;
an attempt that exceeds ``timeout_s`` gets its worker killed and the next attempt a fresh one.
``spawn`` rather than ``fork``: the parent has threads (the metric writer, the database pool) that
a forked child would inherit in an unknown state.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import traceback
from concurrent.futures import Future, ThreadPoolExecutor
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from modelyard.pipelines.executors.base import StepTask, StepTimeout, TaskOutcome, with_retries


class ChildProcessError(Exception):
    """The step raised in its worker process; the message carries the worker's traceback."""


class _Worker:
    def __init__(self, context: Any) -> None:
        self.conn, child_end = context.Pipe(duplex=True)
        self.process: BaseProcess = context.Process(target=_worker_main, args=(child_end,), name="modelyard-step")
        self.process.start()
        child_end.close()

    def kill(self) -> None:
        self.process.kill()
        self.process.join()
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except (BrokenPipeError, OSError):
            pass
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


class LocalProcessExecutor:
    """Steps in worker processes, several at once."""

    name = "local"

    def __init__(self, max_workers: int | None = None) -> None:
        self.max_workers = max_workers or os.cpu_count() or 1
        self._pool = ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="modelyard-proc")
        self._context = multiprocessing.get_context("spawn")
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()

    def submit(self, task: StepTask) -> Future[TaskOutcome]:
        return self._pool.submit(with_retries, task, lambda: self._attempt(task))

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.stop()

    def _attempt(self, task: StepTask) -> Any:
        with self._lock:
            worker = self._idle.pop() if self._idle else None
        if worker is None:
            worker = _Worker(self._context)
        healthy = False
        try:
            worker.conn.send((task.step, task.kwargs))
            # The clock starts once the worker has imported the step and begun it, not at spawn.
            started = worker.conn.recv()
            assert started == ("started", None), started
            if not worker.conn.poll(task.step.timeout_s):
                raise StepTimeout(f"no result after {task.step.timeout_s:g} s; the step's process was killed")
            status, payload = worker.conn.recv()
            healthy = True
        except EOFError:
            worker.process.join()
            raise ChildProcessError(f"the step's process died with exit code {worker.process.exitcode}") from None
        finally:
            if healthy:
                with self._lock:
                    self._idle.append(worker)
            else:
                worker.kill()
        if status == "error":
            raise ChildProcessError(payload)
        return payload


def _worker_main(conn: Connection) -> None:
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        except BaseException as exc:  # the step's module could not be imported here
            conn.send(("started", None))
            conn.send(("error", f"cannot load the step in its process: {type(exc).__name__}: {exc}"))
            continue
        if message is None:
            return
        step, kwargs = message
        conn.send(("started", None))
        try:
            reply = ("ok", step.fn(**kwargs))
        except BaseException as exc:
            reply = ("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
        try:
            conn.send(reply)
        except Exception as exc:  # the value does not pickle
            conn.send(("error", f"the step's output cannot be sent back: {type(exc).__name__}: {exc}"))
