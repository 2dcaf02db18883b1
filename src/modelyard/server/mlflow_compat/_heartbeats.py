"""Heartbeats for runs the mlflow client writes to.

modelyard ends as KILLED a RUNNING run whose heartbeat is older than the timeout (its process
died); the SDK beats for its runs, the mlflow client has no such thing. So a write through this
API counts as a sign of life, beaten at most once per heartbeat interval per run and process, so
a training loop's stream of ``log-metric`` calls costs one extra UPDATE per interval, not per call.
"""

from __future__ import annotations

import threading
import time

from modelyard.sdk.backends.local import LocalBackend

_last: dict[str, float] = {}
_lock = threading.Lock()
_MAX_REMEMBERED = 10_000


def alive(backend: LocalBackend, run_id: str) -> None:
    """Record that the run's writer is alive, unless this process did so within the interval."""
    now = time.monotonic()
    with _lock:
        if now - _last.get(run_id, -1e18) < backend.settings.heartbeat_interval_s:
            return
        if len(_last) >= _MAX_REMEMBERED:
            _last.clear()
        _last[run_id] = now
    backend.runs.heartbeat([run_id])
