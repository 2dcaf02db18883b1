"""What an executor does: run one step's function on its loaded inputs, with retries and a timeout.

The orchestrator (``runner``) loads inputs and stores outputs itself, in its own process; an
executor only computes ``step.fn(**kwargs)`` somewhere and hands back the value. That keeps every
store write in one process and lets an executor be as simple as a thread or a ``spawn``-ed child.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Protocol

from modelyard.errors import UserCodeError
from modelyard.pipelines.steps import Step


@dataclass(frozen=True, kw_only=True)
class StepTask:
    """One step to compute: the step and its keyword arguments (inputs loaded, params as given)."""

    step_id: str
    step: Step
    kwargs: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class TaskOutcome:
    """A finished computation: the value, how many attempts it took, and when it ran (ms)."""

    value: Any
    attempts: int
    started_at: int
    ended_at: int


class StepFailed(UserCodeError):
    """A step raised (or timed out) on every attempt; ``attempts`` says how many there were."""

    def __init__(self, message: str, *, attempts: int, **details: Any) -> None:
        super().__init__(message, attempts=attempts, **details)
        self.attempts = attempts


class Executor(Protocol):
    """Runs step tasks; ``submit`` returns at once, the future ends with a ``TaskOutcome`` or ``StepFailed``."""

    name: str
    max_workers: int

    def submit(self, task: StepTask) -> Future[TaskOutcome]: ...

    def shutdown(self) -> None: ...


def with_retries(task: StepTask, attempt: Callable[[], Any]) -> TaskOutcome:
    """Call ``attempt`` until it returns, at most ``1 + retries`` times, sleeping ``backoff_s * 2**n``
    between tries; the last error becomes a ``StepFailed``."""
    started = _now_ms()
    tries = task.step.retries + 1
    for n in range(tries):
        try:
            value = attempt()
        except Exception as exc:
            if n + 1 >= tries:
                raise StepFailed(
                    f"step {task.step_id!r} failed after {n + 1} attempt(s): {type(exc).__name__}: {exc}",
                    attempts=n + 1,
                ) from exc
            time.sleep(task.step.backoff_s * (2**n))
            continue
        return TaskOutcome(value=value, attempts=n + 1, started_at=started, ended_at=_now_ms())
    raise AssertionError("unreachable")


class StepTimeout(Exception):
    """One attempt ran longer than the step's ``timeout_s``."""


def _now_ms() -> int:
    return int(time.time() * 1000)
