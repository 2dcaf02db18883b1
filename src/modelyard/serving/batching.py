"""Micro-batching: concurrent requests for one variant answered by one model call.

Tabular models predict 16 rows in about the time they take for one, so under concurrent load a
server that gathers requests and predicts them together spends less CPU per request. A
``Batcher`` serves one (deployment, variant) on one event loop: each request's frame (already
checked against the signature, so a bad request is refused alone and never joins a batch) waits
until ``max_batch_size`` rows are waiting or ``max_wait_ms`` has passed since the first of them
arrived. The waiting frames are then concatenated into one DataFrame, predicted with one call on a
worker thread (the event loop keeps reading requests and gathering the next batch meanwhile), and
the answer is split back to each caller in order.

Correctness rules:

- frames are concatenated only with frames of the same columns in the same order; a batch holding
  several column sets makes one model call per set (models without a signature may get anything);
- a model that answers with a different number of rows than it was given fails the whole batch
  (``UserCodeError``) instead of handing anyone a neighbour's prediction;
- a failed call fails every request of that batch with the model's error, which the protocols
  render exactly as for an unbatched request; no caller is ever left waiting.

``BatcherPool`` keeps one batcher per (deployment, variant) in step with the plan in force: when a
reload changes a deployment's batching or a variant's model, or removes them, the old batcher is
closed (what it holds is predicted at once, with the model those requests started on) and a new
one takes the following requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from modelyard.domain.serving import BatchingSpec
from modelyard.errors import UserCodeError
from modelyard.serving.plan import DeploymentPlan, PlanHolder, Variant

Predict = Callable[[pd.DataFrame], Any]


@dataclass(frozen=True)
class _Waiting:
    frame: pd.DataFrame
    future: asyncio.Future[Any]


@dataclass(frozen=True)
class _Failed:
    """A group's model call raised: every frame of the group gets this error."""

    error: BaseException


class Batcher:
    """Gathers frames on one event loop and predicts them together with ``predict``."""

    def __init__(self, predict: Predict, spec: BatchingSpec, *, loop: asyncio.AbstractEventLoop) -> None:
        self.predict = predict
        self.spec = spec
        self.loop = loop
        self._wait_s = spec.max_wait_ms / 1000.0
        self._waiting: list[_Waiting] = []
        self._rows = 0
        self._timer: asyncio.TimerHandle | None = None
        self._running: set[asyncio.Task[None]] = set()
        self.closed = False

    async def submit(self, frame: pd.DataFrame) -> Any:
        """This frame's rows of the prediction of the batch it joined; the model's error if that failed."""
        rows = len(frame)
        if self._waiting and self._rows + rows > self.spec.max_batch_size:
            self._flush()  # the newcomer would overflow the batch: send what waits, start a new one
        future: asyncio.Future[Any] = self.loop.create_future()
        self._waiting.append(_Waiting(frame, future))
        self._rows += rows
        if self.closed or self._rows >= self.spec.max_batch_size or self._wait_s == 0:
            self._flush()
        elif self._timer is None:
            self._timer = self.loop.call_later(self._wait_s, self._flush)
        return await future

    def close(self) -> None:
        """Predict what is waiting now; later submissions (none, normally) are predicted at once."""
        self.closed = True
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            self._flush()
        elif not self.loop.is_closed():  # a batcher of another loop (thread) is flushed on its own loop
            self.loop.call_soon_threadsafe(self._flush)

    @property
    def waiting(self) -> int:
        """Requests gathered for the next batch."""
        return len(self._waiting)

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._waiting, self._rows = self._waiting, [], 0
        if batch:
            task = self.loop.create_task(self._run(batch))
            self._running.add(task)  # a reference, so the task is not collected while it runs
            task.add_done_callback(self._running.discard)

    async def _run(self, batch: list[_Waiting]) -> None:
        try:
            outcomes = await self.loop.run_in_executor(None, self._predict_all, [w.frame for w in batch])
        except BaseException as exc:  # even cancellation must answer every caller
            for waiting in batch:
                if not waiting.future.done():
                    if isinstance(exc, Exception):
                        waiting.future.set_exception(exc)
                    else:
                        waiting.future.cancel()
            if not isinstance(exc, Exception):
                raise
            return
        for waiting, outcome in zip(batch, outcomes, strict=True):
            if waiting.future.done():  # the caller went away (client disconnected)
                continue
            if isinstance(outcome, _Failed):
                waiting.future.set_exception(outcome.error)
            else:
                waiting.future.set_result(outcome)

    def _predict_all(self, frames: list[pd.DataFrame]) -> list[Any]:
        """Runs on a worker thread: one model call per column set, answers in the frames' order."""
        groups: dict[tuple[Any, ...], list[int]] = {}
        for index, frame in enumerate(frames):
            groups.setdefault(tuple(frame.columns), []).append(index)
        outcomes: list[Any] = [None] * len(frames)
        for members in groups.values():
            part = [frames[i] for i in members]
            try:
                answers = split(self.predict(concat(part)), [len(f) for f in part])
            except Exception as exc:
                answers = [_Failed(exc)] * len(part)
            for index, answer in zip(members, answers, strict=True):
                outcomes[index] = answer
        return outcomes


def concat(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The frames (same columns, same order) as one, rows in order, index 0..n-1.

    Frames of one numeric dtype (the common case for tabular models) are stacked as one numpy
    array, which is several times cheaper than ``pd.concat`` for a few one-row frames.
    """
    if len(frames) == 1:
        return frames[0]
    first = frames[0]
    dtypes = tuple(first.dtypes)
    homogeneous = (
        len(set(dtypes)) == 1
        and isinstance(dtypes[0], np.dtype)
        and dtypes[0].kind in "fiub"
        and all(tuple(f.dtypes) == dtypes for f in frames[1:])
    )
    if homogeneous:
        return pd.DataFrame(np.concatenate([f.to_numpy() for f in frames]), columns=first.columns)
    return pd.concat(list(frames), ignore_index=True)


def split(answer: Any, sizes: Sequence[int]) -> list[Any]:
    """``answer`` cut into consecutive parts of ``sizes`` rows; ``UserCodeError`` if the rows do not add up."""
    total = sum(sizes)
    if isinstance(answer, pd.DataFrame):
        count = len(answer)
    else:
        array = np.asarray(answer) if not isinstance(answer, np.ndarray) else answer
        count = array.shape[0] if array.ndim else -1
        answer = array
    if count != total:
        raise UserCodeError(
            f"the model answered {count} rows for a batch of {total}; micro-batching needs one prediction "
            "per input row (turn batching off for this deployment)",
            rows=total,
            answered=count,
        )
    if len(sizes) == 1:
        return [answer]
    parts: list[Any] = []
    offset = 0
    for size in sizes:
        if isinstance(answer, pd.DataFrame):
            parts.append(answer.iloc[offset : offset + size].reset_index(drop=True))
        else:
            parts.append(answer[offset : offset + size])
        offset += size
    return parts


class BatcherPool:
    """One batcher per (deployment, variant) of the plan in ``holder``, made on first use.

    Readers and writers are the event loop's own coroutines, which never interleave between an
    ``await``, so no lock is needed.
    """

    def __init__(self, holder: PlanHolder) -> None:
        self._holder = holder
        self._batchers: dict[tuple[str, str], Batcher] = {}
        self._generation = holder.generation

    def batcher(self, deployment: DeploymentPlan, variant: Variant) -> Batcher:
        """The batcher for ``variant`` of ``deployment`` (which must batch) on the running loop."""
        spec = deployment.batching
        if spec is None:
            raise ValueError(f"deployment {deployment.name!r} does not batch")
        self.sync()
        key = (deployment.name, variant.name)
        loop = asyncio.get_running_loop()
        current = self._batchers.get(key)
        if current is not None:
            if current.predict == variant.predictor.predict and current.spec == spec and current.loop is loop:
                return current
            current.close()
        made = Batcher(variant.predictor.predict, spec, loop=loop)
        self._batchers[key] = made
        return made

    def sync(self) -> None:
        """After a plan swap, close the batchers of deployments and variants that no longer batch."""
        generation = self._holder.generation
        if generation == self._generation:
            return
        self._generation = generation
        plan = self._holder.current
        for key, batcher in list(self._batchers.items()):
            deployment = plan.deployments.get(key[0])
            keep = (
                deployment is not None
                and deployment.batching == batcher.spec
                and any(v.name == key[1] and v.predictor.predict == batcher.predict for v in deployment.variants)
            )
            if not keep:
                del self._batchers[key]
                batcher.close()

    @property
    def waiting(self) -> int:
        """Requests gathered by all batchers, not yet sent to a model."""
        return sum(b.waiting for b in self._batchers.values())

    def __len__(self) -> int:
        return len(self._batchers)
