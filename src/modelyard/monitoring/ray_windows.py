"""A monitor window computed on Ray: its Parquet segments read in parallel tasks, the parts merged.

For each window the driver lists the window's segments (one store query), splits them into up to
``parts`` contiguous groups of about equal row counts, and starts one Ray task per group. A task
reads its segments with the ``SegmentReader`` it is given (the inference log's own reader, opened
on the worker from the store and artifact URIs, so segments in S3 are read through fsspec where
the task runs) and returns a ``WindowAccumulator``; the driver merges the parts in log order and
finishes the window as a local run does (see ``accumulate`` for what is exact after a merge).

A monitor that infers its task from the data settles it on the window's first labelled chunk; a
later part that settled otherwise from its own first chunk is computed again with the window's
task, so performance figures match a local run.

``ray`` is imported only here and only when a run asks for it (``pip install 'modelyard[ray]'``).
Without an ``address`` (``Settings.ray_address``) a local Ray instance is started for the run and
stopped after it; a Ray instance already initialised in the process is used as it is.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import Any, Protocol

import pandas as pd

from modelyard.domain.inference import InferenceSegment
from modelyard.domain.monitoring import Monitor, Task
from modelyard.errors import BackendUnavailable, InvalidInput
from modelyard.monitoring.accumulate import WindowAccumulator


class SegmentReader(Protocol):
    """Reads the rows in ``[start_ms, end_ms)`` of ``segments`` in chunks, late labels joined.

    It runs inside Ray tasks, so it must pickle: hold URIs and open the store where it is called.
    """

    def __call__(
        self, segments: Sequence[InferenceSegment], start_ms: int, end_ms: int, chunk_rows: int
    ) -> Iterator[pd.DataFrame]: ...


def accumulate_part(
    monitor: Monitor,
    start_ms: int,
    end_ms: int,
    segments: Sequence[InferenceSegment],
    read: SegmentReader,
    *,
    part: int,
    chunk_rows: int,
    task: Task | None = None,
) -> WindowAccumulator:
    """One part of a window: the rows of ``segments`` in ``[start_ms, end_ms)`` (a Ray task's body)."""
    window = WindowAccumulator(monitor, start_ms, end_ms, part=part, task=task)
    for chunk in read(segments, start_ms, end_ms, chunk_rows):
        window.add(chunk)
    return window


def split_segments(segments: Sequence[InferenceSegment], parts: int) -> list[list[InferenceSegment]]:
    """``segments`` in at most ``parts`` contiguous groups of about equal row counts, order kept."""
    if parts < 1:
        raise InvalidInput(f"a window is split into at least one part, got {parts}")
    total = sum(max(s.row_count, 1) for s in segments)
    groups: list[list[InferenceSegment]] = []
    done, last = 0, -1
    for segment in segments:
        # Group g takes the segments whose first row falls in the g-th share of the rows.
        g = min(parts - 1, math.floor(done * parts / total))
        if g != last:
            groups.append([])
            last = g
        groups[-1].append(segment)
        done += max(segment.row_count, 1)
    return groups


class RayWindows:
    """Computes windows on a Ray cluster (see the module docstring); a context manager around Ray's lifetime."""

    def __init__(
        self, read: SegmentReader, *, address: str | None = None, parts: int | None = None, chunk_rows: int
    ) -> None:
        self._read = read
        self._address = address
        self._parts = parts
        self._chunk_rows = chunk_rows
        self._owns_ray = False
        self._ray: Any = None
        self._remote: Any = None

    def __enter__(self) -> RayWindows:
        try:
            import ray
        except ImportError as exc:
            raise BackendUnavailable("monitor runs on Ray need Ray: pip install 'modelyard[ray]'") from exc
        if not ray.is_initialized():
            try:
                ray.init(address=self._address, include_dashboard=False, log_to_driver=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = self._address or "a local instance"
                raise BackendUnavailable(f"cannot start or reach Ray at {where}: {exc}") from exc
            self._owns_ray = True
        self._ray = ray
        remote: Any = ray.remote(max_retries=1)  # a read that failed on a lost worker is read again
        self._remote = remote(accumulate_part)
        if self._parts is None:
            self._parts = max(1, int(ray.cluster_resources().get("CPU", 1)))  # type: ignore[no-untyped-call]
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._owns_ray:
            self._ray.shutdown()
        self._owns_ray = False

    def window(
        self, monitor: Monitor, start_ms: int, end_ms: int, segments: Sequence[InferenceSegment]
    ) -> WindowAccumulator:
        """The window ``[start_ms, end_ms)`` of ``monitor`` over ``segments``, computed in parallel parts."""
        if self._remote is None:
            raise InvalidInput("RayWindows is used inside a 'with' block (it starts and stops Ray)")
        groups = split_segments(segments, self._parts or 1) if segments else []
        if not groups:
            return WindowAccumulator(monitor, start_ms, end_ms)
        parts = self._gather([self._submit(monitor, start_ms, end_ms, g, i) for i, g in enumerate(groups)])
        settled = next((p.task for p in parts if p.labelled_seen), None)
        redo = {
            i: self._submit(monitor, start_ms, end_ms, groups[i], i, settled)
            for i, p in enumerate(parts)
            if p.labelled_seen and p.task is not settled
        }
        for i, part in zip(redo, self._gather(list(redo.values())), strict=True):
            parts[i] = part
        window = parts[0]
        for part in parts[1:]:
            window.merge(part)
        return window

    def _submit(
        self,
        monitor: Monitor,
        start_ms: int,
        end_ms: int,
        segments: list[InferenceSegment],
        part: int,
        task: Task | None = None,
    ) -> Any:
        return self._remote.remote(
            monitor, start_ms, end_ms, segments, self._read, part=part, chunk_rows=self._chunk_rows, task=task
        )

    def _gather(self, refs: list[Any]) -> list[WindowAccumulator]:
        try:
            return list(self._ray.get(refs))
        except self._ray.exceptions.RayTaskError as exc:
            cause = getattr(exc, "cause", None)
            if isinstance(cause, InvalidInput):
                raise cause from None  # the caller's error, not Ray's remote traceback around it
            raise
