"""The background writer: buffers metrics and beats the heartbeat of live runs.

A training loop that logs every step must not wait for the store. ``log_metric`` appends to an
in-memory buffer (a microsecond); a daemon thread writes a batch when ``batch_size`` metrics are
waiting or ``flush_interval_s`` has passed, and the buffer is drained synchronously when a run
ends, on ``flush()`` and at interpreter exit, so nothing logged is lost. If a write fails (the
store is briefly unreachable), the batch is kept and retried; an explicit flush raises.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence

from modelyard.domain.tracking import Metric

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
    ) -> None:
        self._write_metrics = write_metrics
        self._beat = beat
        self._batch_size = batch_size
        self._flush_interval_s = flush_interval_s
        self._heartbeat_interval_s = heartbeat_interval_s
        self._pending: dict[str, list[Metric]] = {}
        self._count = 0
        self._live_runs: set[str] = set()
        self._lock = threading.Lock()  # guards _pending, _count, _live_runs
        self._write_lock = threading.Lock()  # one writer at a time, so batches keep their order
        self._wake = threading.Event()
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._last_error: BaseException | None = None
        atexit.register(self.close)
        os.register_at_fork(after_in_child=self._forget_after_fork)

    # -- called by the SDK -----------------------------------------------------------------------

    def add(self, run_id: str, metric: Metric) -> None:
        """Queue one metric; never touches the store."""
        with self._lock:
            self._pending.setdefault(run_id, []).append(metric)
            self._count += 1
            full = self._count >= self._batch_size
        if self._thread is None:
            self._start()
        if full:
            self._wake.set()

    def add_many(self, run_id: str, metrics: Sequence[Metric]) -> None:
        with self._lock:
            self._pending.setdefault(run_id, []).extend(metrics)
            self._count += len(metrics)
            full = self._count >= self._batch_size
        if self._thread is None:
            self._start()
        if full:
            self._wake.set()

    def watch(self, run_id: str) -> None:
        """Beat the heartbeat of ``run_id`` until ``unwatch``."""
        with self._lock:
            self._live_runs.add(run_id)
        if self._thread is None:
            self._start()

    def unwatch(self, run_id: str) -> None:
        with self._lock:
            self._live_runs.discard(run_id)

    def flush(self, run_id: str | None = None) -> None:
        """Write what is pending (for one run, or all) now; raises if the store refuses it."""
        self._write(run_id, raise_errors=True)

    def flush_into(self, run_id: str, store: Callable[[list[Metric]], None]) -> None:
        """Hand what is pending for ``run_id`` (maybe nothing) to ``store``, which stores it or
        raises; in order with the background writes, and kept for a retry if ``store`` raises.

        Ending a run uses it to store the last metrics and the final status in one transaction.
        """
        with self._write_lock:
            pending = self._take(run_id).get(run_id, [])
            try:
                store(pending)
            except BaseException:
                if pending:
                    self._put_back({run_id: pending})
                raise

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
            log.error("modelyard could not store %d buffered metrics at exit: %s", self._count, exc)

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

    def _take(self, run_id: str | None) -> dict[str, list[Metric]]:
        with self._lock:
            if run_id is None:
                taken, self._pending = self._pending, {}
            else:
                taken = {run_id: self._pending.pop(run_id)} if run_id in self._pending else {}
            self._count -= sum(len(v) for v in taken.values())
        return taken

    def _put_back(self, batches: dict[str, list[Metric]]) -> None:
        with self._lock:
            for run_id, metrics in batches.items():
                self._pending[run_id] = metrics + self._pending.get(run_id, [])
                self._count += len(metrics)

    def _write(self, run_id: str | None, *, raise_errors: bool) -> None:
        with self._write_lock:
            batches = self._take(run_id)
            for index, (rid, metrics) in enumerate(batches.items()):
                try:
                    self._write_metrics(rid, metrics)
                except Exception as exc:
                    self._put_back(dict(list(batches.items())[index:]))
                    if raise_errors:
                        raise
                    if type(exc) is not type(self._last_error):
                        log.warning("modelyard could not write metrics yet (will retry): %s", exc)
                    self._last_error = exc
                    return
            self._last_error = None

    def _forget_after_fork(self) -> None:
        # The child owns neither the parent's buffered metrics nor its thread.
        self._pending, self._count, self._live_runs = {}, 0, set()
        self._thread = None
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._wake = threading.Event()
