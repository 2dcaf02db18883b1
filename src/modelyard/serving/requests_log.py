"""The "a request was served" hook: what the inference log (and anything else) listens to.

The server calls ``RequestLogger.record`` once per answered request, after the response has been
sent. Implementations must return at once: ``QueueRequestLogger`` is the bounded hand-off a
writer thread drains (the inference log writes Parquet segments from it); when the writer falls
behind, records are dropped and counted, never the request.
"""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass
from typing import Any, Protocol

import pandas as pd


@dataclass(frozen=True, kw_only=True)
class ServedRequest:
    """One answered request: who answered, what it saw, what it said, how long it took."""

    request_id: str
    time_ms: int
    deployment: str
    variant: str
    model_version: str
    inputs: pd.DataFrame
    prediction: Any
    latency_ms: float


class RequestLogger(Protocol):
    """Receives every served request. ``record`` must never block and never raise.

    Returns ``True`` when the record was kept, ``False`` when it was dropped (the server counts
    drops in ``modelyard_request_log_dropped_total``).
    """

    def record(self, served: ServedRequest) -> bool: ...


class NullRequestLogger:
    """The default: keeps nothing."""

    def record(self, served: ServedRequest) -> bool:
        return True


class QueueRequestLogger:
    """A bounded in-memory queue of served requests for a consumer to drain in batches.

    ``record`` appends under a lock held for a few instructions; when ``maxsize`` records are
    waiting it drops the new one and counts it. ``drain`` takes up to ``max_items`` records, oldest
    first; ``wait`` lets a consumer sleep until something arrives.
    """

    def __init__(self, maxsize: int = 10_000) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize = maxsize
        self._items: collections.deque[ServedRequest] = collections.deque()
        self._lock = threading.Lock()
        self._arrived = threading.Event()
        self._dropped = 0
        self._accepted = 0

    def record(self, served: ServedRequest) -> bool:
        with self._lock:
            if len(self._items) >= self.maxsize:
                self._dropped += 1
                return False
            self._items.append(served)
            self._accepted += 1
        self._arrived.set()
        return True

    def drain(self, max_items: int | None = None) -> list[ServedRequest]:
        """Remove and return up to ``max_items`` waiting records (all of them by default)."""
        with self._lock:
            count = len(self._items) if max_items is None else min(max_items, len(self._items))
            batch = [self._items.popleft() for _ in range(count)]
            if not self._items:
                self._arrived.clear()
        return batch

    def wait(self, timeout: float | None = None) -> bool:
        """Block the *consumer* until a record is waiting or ``timeout`` passes; ``True`` if one is."""
        return self._arrived.wait(timeout)

    def __len__(self) -> int:
        return len(self._items)

    @property
    def dropped(self) -> int:
        """Records refused because the queue was full."""
        return self._dropped

    @property
    def accepted(self) -> int:
        return self._accepted
