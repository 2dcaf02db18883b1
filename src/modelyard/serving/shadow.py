"""Shadow traffic: copies of requests answered by shadow variants, off the caller's path.

The app hands a copy (the request's frame and the primary's answer) to ``ShadowRunner.submit``
after the response has been sent. ``submit`` only appends to a bounded queue: when the shadows
fall behind, copies are dropped and counted, so a slow or failing shadow can cost comparisons but
never a caller's latency or answer. Worker threads take every waiting copy at once (up to
``max_batch``, after lingering ``linger_ms`` for more to arrive), run each shadow predictor once
on the batch, split its answer back per request, compare each with the primary's and keep counts
plus a bounded list of recent pairs.

Comparison: labels (integers, booleans, strings) disagree when they differ; numbers (floats)
disagree when their relative error ``|s - p| / max(|p|, 1e-12)`` exceeds ``tolerance``.
"""

from __future__ import annotations

import collections
import logging
import queue
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from modelyard.serving.metrics import ServingMetrics
from modelyard.serving.plan import Variant
from modelyard.serving.rows import Inputs, predict, stack_inputs

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class ShadowRecord:
    """One compared pair: what the caller got and what the shadow would have said."""

    request_id: str
    deployment: str
    variant: str
    model_version: str
    primary: Any
    shadow: Any
    rows: int
    disagreements: int
    mean_relative_error: float | None


@dataclass(kw_only=True)
class ShadowStats:
    """Running totals for one shadow variant of one deployment."""

    requests: int = 0
    errors: int = 0
    rows: int = 0
    disagreements: int = 0
    relative_error_sum: float = 0.0
    relative_error_rows: int = 0

    @property
    def disagreement_rate(self) -> float | None:
        """Share of compared rows where the shadow disagreed; ``None`` before any comparison."""
        return None if self.rows == 0 else self.disagreements / self.rows

    @property
    def mean_relative_error(self) -> float | None:
        return None if self.relative_error_rows == 0 else self.relative_error_sum / self.relative_error_rows


@dataclass(frozen=True, kw_only=True)
class _Job:
    request_id: str
    deployment: str
    shadows: tuple[Variant, ...]
    frame: Inputs
    primary: Any


@dataclass(kw_only=True)
class _State:
    stats: dict[tuple[str, str], ShadowStats] = field(default_factory=dict)
    dropped: int = 0


class ShadowRunner:
    """Runs shadow predictions on ``workers`` background threads fed by a queue of ``maxsize``."""

    def __init__(
        self,
        metrics: ServingMetrics,
        *,
        maxsize: int = 1_000,
        workers: int = 1,
        tolerance: float = 0.05,
        keep_records: int = 1_000,
        max_batch: int = 256,
        linger_ms: float = 20.0,
    ) -> None:
        self._metrics = metrics
        self._queue: queue.Queue[_Job | None] = queue.Queue(maxsize=maxsize)
        self._workers_wanted = workers
        self._threads: list[threading.Thread] = []
        self._tolerance = tolerance
        self._max_batch = max_batch
        self._linger = linger_ms / 1000.0
        self._lock = threading.Lock()
        self._state = _State()
        self.records: collections.deque[ShadowRecord] = collections.deque(maxlen=keep_records)
        self._random = random.Random()

    def start(self) -> None:
        """Start the worker threads (idempotent)."""
        if self._threads:
            return
        for index in range(self._workers_wanted):
            thread = threading.Thread(target=self._work, name=f"modelyard-shadow-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        """Let the workers finish what they hold and end; copies still queued are discarded."""
        for _ in self._threads:
            try:
                self._queue.put(None, timeout=timeout)
            except queue.Full:
                break
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def submit(
        self, *, request_id: str, deployment: str, shadows: tuple[Variant, ...], frame: Inputs, primary: Any
    ) -> bool:
        """Queue a copy for the shadows that sample it; ``False`` (and counted) when dropped."""
        chosen = tuple(v for v in shadows if v.sample >= 100 or self._random.random() * 100 < v.sample)
        if not chosen:
            return True
        job = _Job(request_id=request_id, deployment=deployment, shadows=chosen, frame=frame, primary=primary)
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            with self._lock:
                self._state.dropped += 1
            self._metrics.shadow_dropped.labels(deployment).inc()
            return False
        return True

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every queued copy has been processed; ``True`` if that happened in time."""
        done = threading.Event()

        def joiner() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=joiner, daemon=True).start()
        return done.wait(timeout)

    def stats(self) -> dict[tuple[str, str], ShadowStats]:
        """A snapshot of the totals per ``(deployment, variant)``."""
        with self._lock:
            return {key: ShadowStats(**vars(value)) for key, value in self._state.stats.items()}

    @property
    def dropped(self) -> int:
        return self._state.dropped

    def _work(self) -> None:
        while True:
            first = self._queue.get()
            jobs = [first]
            if first is not None and self._linger > 0 and self._queue.qsize() < self._max_batch:
                time.sleep(self._linger)  # let copies gather: one predict per batch, not per request
            while first is not None and len(jobs) < self._max_batch:
                try:
                    jobs.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                pending = [job for job in jobs if job is not None]
                if pending:
                    self._run_batch(pending)
                if len(pending) != len(jobs):
                    return
            finally:
                for _ in jobs:
                    self._queue.task_done()

    def _run_batch(self, jobs: list[_Job]) -> None:
        """One predict call per shadow variant for all waiting copies, split back per request.

        Batching is what keeps shadows cheap under load: a tabular model predicts 100 rows in
        about the time it takes for one, so the shadow's share of the CPU shrinks as traffic grows.
        """
        groups: dict[tuple[str, int], tuple[Variant, list[_Job]]] = {}
        for job in jobs:
            for variant in job.shadows:
                groups.setdefault((job.deployment, id(variant)), (variant, []))[1].append(job)
        for (deployment, _), (variant, members) in groups.items():
            labels = (deployment, variant.name)
            try:
                answer = predict(variant.predictor, stack_inputs([j.frame for j in members]))
            except Exception:
                logger.warning("shadow %s/%s failed", *labels, exc_info=True)
                with self._lock:
                    self._state.stats.setdefault(labels, ShadowStats()).errors += len(members)
                self._metrics.shadow_errors.labels(*labels).inc(len(members))
                continue
            self._record(deployment, variant, members, answer)

    def _record(self, deployment: str, variant: Variant, jobs: list[_Job], answer: Any) -> None:
        """Compare a batch's answers with the primaries' in one vectorised pass, then count once.

        Per request only a record is made; the comparison, the totals and the Prometheus counters
        are per batch, so the worker holds the GIL (which the event loop needs) for a short time.
        """
        sizes = [len(job.frame) for job in jobs]
        bounds = np.cumsum([0, *sizes])
        compared = _compare_batch([job.primary for job in jobs], answer, bounds, tolerance=self._tolerance)
        records = []
        for index, job in enumerate(jobs):
            rows, disagreements, errors = compared[index]
            records.append(
                ShadowRecord(
                    request_id=job.request_id,
                    deployment=deployment,
                    variant=variant.name,
                    model_version=variant.model_version,
                    primary=job.primary,
                    shadow=answer if len(jobs) == 1 else _rows(answer, int(bounds[index]), int(bounds[index + 1])),
                    rows=rows,
                    disagreements=disagreements,
                    mean_relative_error=None if errors is None else float(np.mean(errors)) if len(errors) else 0.0,
                )
            )
        rows_total = sum(r.rows for r in records)
        disagreements_total = sum(r.disagreements for r in records)
        labels = (deployment, variant.name)
        with self._lock:
            stats = self._state.stats.setdefault(labels, ShadowStats())
            stats.requests += len(records)
            stats.rows += rows_total
            stats.disagreements += disagreements_total
            for _, _, errors in compared:
                if errors is not None:
                    stats.relative_error_sum += float(np.sum(errors))
                    stats.relative_error_rows += len(errors)
            self.records.extend(records)
        self._metrics.shadow_requests.labels(*labels).inc(len(records))
        self._metrics.shadow_rows.labels(*labels).inc(rows_total)
        self._metrics.shadow_disagreements.labels(*labels).inc(disagreements_total)


def _rows(answer: Any, start: int, stop: int) -> Any:
    if isinstance(answer, pd.DataFrame):
        return answer.iloc[start:stop].reset_index(drop=True)
    return answer[start:stop]


def compare(primary: Any, shadow: Any, *, tolerance: float) -> tuple[int, int, np.ndarray | None]:
    """``(rows, disagreeing rows, per-row relative errors or None for labels)``.

    Multi-column answers (probabilities, DataFrames) disagree on a row when any value does.
    Answers of different shapes disagree on every row.
    """
    p = _as_array(primary)
    s = _as_array(shadow)
    rows = int(p.shape[0]) if p.ndim else 1
    if p.shape != s.shape:
        return rows, rows, None
    if p.dtype.kind == "f" or s.dtype.kind == "f":
        pf = p.astype(np.float64).reshape(rows, -1)
        sf = s.astype(np.float64).reshape(rows, -1)
        relative = np.abs(sf - pf) / np.maximum(np.abs(pf), 1e-12)
        per_row = relative.max(axis=1)
        return rows, int(np.count_nonzero(per_row > tolerance)), per_row
    mismatch = (p != s).reshape(rows, -1).any(axis=1)
    return rows, int(np.count_nonzero(mismatch)), None


def _compare_batch(
    primaries: list[Any], answer: Any, bounds: np.ndarray, *, tolerance: float
) -> list[tuple[int, int, np.ndarray | None]]:
    """``compare`` of each request's primary with its rows of the batch's ``answer``.

    When the primaries stack into one array shaped like the answer (the usual case: one model
    answering the same kind of request), the comparison runs once over the stack and is split
    per request by ``bounds``; otherwise each request is compared alone.
    """
    if len(primaries) > 1 and bool(np.all(np.diff(bounds) > 0)):
        p = [_as_array(primary) for primary in primaries]
        s = _as_array(answer)
        if all(a.ndim and a.shape[1:] == s.shape[1:] for a in p) and sum(a.shape[0] for a in p) == s.shape[0]:
            stacked = np.concatenate(p)
            if stacked.shape == s.shape:
                return _split(stacked, s, bounds, tolerance)
    return [
        compare(primary, answer if len(primaries) == 1 else _rows(answer, int(bounds[i]), int(bounds[i + 1])),
                tolerance=tolerance)
        for i, primary in enumerate(primaries)
    ]  # fmt: skip


def _split(
    p: np.ndarray, s: np.ndarray, bounds: np.ndarray, tolerance: float
) -> list[tuple[int, int, np.ndarray | None]]:
    rows = p.shape[0]
    starts = bounds[:-1]
    if p.dtype.kind == "f" or s.dtype.kind == "f":
        pf = p.astype(np.float64).reshape(rows, -1)
        sf = s.astype(np.float64).reshape(rows, -1)
        per_row = (np.abs(sf - pf) / np.maximum(np.abs(pf), 1e-12)).max(axis=1)
        counts = np.add.reduceat((per_row > tolerance).astype(np.int64), starts)
        return [(int(b - a), int(c), per_row[a:b]) for a, b, c in zip(bounds[:-1], bounds[1:], counts, strict=True)]
    mismatch = (p != s).reshape(rows, -1).any(axis=1)
    counts = np.add.reduceat(mismatch.astype(np.int64), starts)
    return [(int(b - a), int(c), None) for a, b, c in zip(bounds[:-1], bounds[1:], counts, strict=True)]


def _as_array(value: Any) -> np.ndarray:
    if isinstance(value, pd.DataFrame | pd.Series):
        return np.asarray(value.to_numpy())
    return np.asarray(value)
