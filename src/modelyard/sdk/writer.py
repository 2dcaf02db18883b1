"""The background writer: buffers metrics and beats the heartbeat of live runs.

A training loop that logs every step must not wait for the store. ``log_metric`` appends to an
in-memory buffer (a microsecond); a daemon thread writes a batch when ``batch_size`` metrics are
waiting or ``flush_interval_s`` has passed, and the buffer is drained synchronously when a run
ends, on ``flush()``, on SIGTERM (``modelyard.sdk.shutdown``) and at interpreter exit. If a write
fails (the store is briefly unreachable), the batch is kept and retried; an explicit flush raises.

With a spool (``modelyard.sdk.spool``), each accepted call is also appended to a local file before
it returns, so a process killed outright loses nothing that was accepted: the next process to open
the store replays it. The buffer is bounded: a caller that gets ``max_pending`` values ahead of
the store waits for the writer (back-pressure) instead of growing memory without limit.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence

from modelyard.domain.tracking import Metric
from modelyard.sdk.spool import MetricSpool

log = logging.getLogger(__name__)

MetricSink = Callable[[str, Sequence[Metric]], None]
HeartbeatSink = Callable[[Sequence[str]], None]


class BackgroundWriter:
    """Buffered metric writes and heartbeats for the runs this process owns."""

    def __init__(
        self,
        write_metrics: MetricSink,
        beat: HeartbeatSink,
        *,
        batch_size: int = 1000,
        flush_interval_s: float = 1.0,
        heartbeat_interval_s: float = 10.0,
        spool: MetricSpool | None = None,
        max_pending: int = 100_000,
    ) -> None:
        self._write_metrics = write_metrics
        self._beat = beat
        self._batch_size = batch_size
        self._flush_interval_s = flush_interval_s
        self._heartbeat_interval_s = heartbeat_interval_s
        self._spool = spool
        self._max_pending = max(max_pending, batch_size)
        self._pending: dict[str, list[Metric]] = {}
        self._seqs: dict[str, list[int]] = {}  # spool records behind each run's pending metrics
        self._count = 0
        self._live_runs: set[str] = set()
        # Re-entrant: the SIGTERM handler runs on the main thread, maybe while it holds them.
        self._lock = threading.RLock()  # guards _pending, _seqs, _count, _live_runs, the spool
        self._write_lock = threading.RLock()  # one writer at a time, so batches keep their order
        self._drained = threading.Condition(threading.Lock())  # back-pressure waits here
        self._wake = threading.Event()
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._last_error: BaseException | None = None
        atexit.register(self.close)
        os.register_at_fork(after_in_child=self._forget_after_fork)

    # -- called by the SDK -----------------------------------------------------------------------

    def add(self, run_id: str, metric: Metric) -> None:
        """Queue one metric (spooled before this returns); never touches the store."""
        self.add_many(run_id, (metric,))

    def add_many(self, run_id: str, metrics: Sequence[Metric]) -> None:
        """Queue metrics (spooled with one ``write()`` before this returns)."""
        with self._lock:
            if self._spool is not None:
                self._seqs.setdefault(run_id, []).append(self._spool.append(run_id, metrics))
            self._pending.setdefault(run_id, []).extend(metrics)
            self._count += len(metrics)
            count = self._count
        if self._thread is None:
            self._start()
        if count >= self._batch_size:
            self._wake.set()
            if count >= self._max_pending:
                self._wait_for_room()

    @property
    def pending(self) -> int:
        """Metrics accepted and not stored yet."""
        return self._count

    def watch(self, run_id: str) -> None:
        """Beat the heartbeat of ``run_id`` until ``unwatch``."""
        with self._lock:
            self._live_runs.add(run_id)
        if self._thread is None:
            self._start()

    def unwatch(self, run_id: str) -> None:
        with self._lock:
            self._live_runs.discard(run_id)

    def live_runs(self) -> list[str]:
        """The runs whose heartbeat this writer beats."""
        with self._lock:
            return sorted(self._live_runs)

    def flush(self, run_id: str | None = None) -> None:
        """Write what is pending (for one run, or all) now; raises if the store refuses it."""
        self._write(run_id, raise_errors=True)

    def flush_into(self, run_id: str, store: Callable[[list[Metric]], None]) -> None:
        """Hand what is pending for ``run_id`` (maybe nothing) to ``store``, which stores it or
        raises; in order with the background writes, and kept for a retry if ``store`` raises.

        Ending a run uses it to store the last metrics and the final status in one transaction.
        """
        with self._write_lock:
            taken, seqs = self._take(run_id)
            pending = taken.get(run_id, [])
            try:
                store(pending)
            except BaseException:
                if pending:
                    self._put_back({run_id: pending}, seqs)
                raise
            self._done(seqs.get(run_id, []))

    def close(self) -> None:
        """Stop the thread and write everything still pending; called at interpreter exit."""
        self._stopped = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=30)
        try:
            self._write(None, raise_errors=True)
        except Exception as exc:  # at exit there is no caller left to raise to
            where = f"; they are kept in {self._spool.path} for the next process" if self._spool else ""
            log.error("modelyard could not store %d buffered metrics at exit: %s%s", self._count, exc, where)
        with self._lock:
            if self._spool is not None:
                self._spool.close(remove=self._count == 0)

    # -- internals -------------------------------------------------------------------------------

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None or self._stopped:
                return
            self._thread = threading.Thread(target=self._loop, name="modelyard-writer", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        next_beat = time.monotonic() + self._heartbeat_interval_s
        while not self._stopped:
            self._wake.wait(timeout=min(self._flush_interval_s, max(0.0, next_beat - time.monotonic())))
            self._wake.clear()
            if self._stopped:
                return
            self._write(None, raise_errors=False)
            if time.monotonic() >= next_beat:
                next_beat = time.monotonic() + self._heartbeat_interval_s
                with self._lock:
                    live = sorted(self._live_runs)
                if live:
                    try:
                        self._beat(live)
                    except Exception as exc:
                        log.warning("modelyard heartbeat failed (will retry): %s", exc)

    def _take(self, run_id: str | None) -> tuple[dict[str, list[Metric]], dict[str, list[int]]]:
        with self._lock:
            if run_id is None:
                taken, self._pending = self._pending, {}
                seqs, self._seqs = self._seqs, {}
            else:
                taken = {run_id: self._pending.pop(run_id)} if run_id in self._pending else {}
                seqs = {run_id: self._seqs.pop(run_id)} if run_id in self._seqs else {}
            self._count -= sum(len(v) for v in taken.values())
        return taken, seqs

    def _put_back(self, batches: dict[str, list[Metric]], seqs: dict[str, list[int]]) -> None:
        with self._lock:
            for run_id, metrics in batches.items():
                self._pending[run_id] = metrics + self._pending.get(run_id, [])
                self._seqs[run_id] = seqs.get(run_id, []) + self._seqs.get(run_id, [])
                self._count += len(metrics)

    def _done(self, seqs: list[int]) -> None:
        with self._lock:
            if self._spool is not None and seqs:
                self._spool.mark_done(seqs)
        with self._drained:
            self._drained.notify_all()

    def _wait_for_room(self) -> None:
        # Back-pressure: the caller is max_pending values ahead of the store. Waiting keeps memory
        # bounded; every value it already handed over is spooled, so nothing is lost meanwhile.
        if threading.current_thread() is self._thread:
            return
        with self._drained:
            while self._count >= self._max_pending and not self._stopped:
                self._wake.set()
                self._drained.wait(timeout=0.5)

    def _write(self, run_id: str | None, *, raise_errors: bool) -> None:
        with self._write_lock:
            batches, seqs = self._take(run_id)
            for index, (rid, metrics) in enumerate(batches.items()):
                try:
                    self._write_metrics(rid, metrics)
                except Exception as exc:
                    rest = dict(list(batches.items())[index:])
                    self._put_back(rest, {r: seqs[r] for r in rest if r in seqs})
                    if raise_errors:
                        raise
                    if type(exc) is not type(self._last_error):
                        log.warning("modelyard could not write metrics yet (will retry): %s", exc)
                    self._last_error = exc
                    return
                self._done(seqs.get(rid, []))
            self._last_error = None

    def _forget_after_fork(self) -> None:
        # The child owns neither the parent's buffered metrics, nor its thread, nor its spool.
        self._pending, self._seqs, self._count, self._live_runs = {}, {}, 0, set()
        self._thread = None
        self._lock = threading.RLock()
        self._write_lock = threading.RLock()
        self._drained = threading.Condition(threading.Lock())
        self._wake = threading.Event()
        if self._spool is not None:
            self._spool.forget()
