"""The "a request was served" hook: what the inference log (and anything else) listens to.

The server calls ``RequestLogger.record`` once per request of a deployment it serves, answered or
failed, just before the response goes out (so a caller holding its answer knows the record is
queued). Implementations must return at once: ``QueueRequestLogger`` is the bounded hand-off a
writer thread drains (the inference log writes Parquet segments from it); when the writer falls
behind, records are dropped and counted, never the request.

A failed request carries its HTTP ``status`` and an ``error`` kind (``error_kind``): the caller's
mistakes (4xx) are ``invalid_input`` (or the refusal's class, such as ``NotFound`` for an unknown
variant), a model that raised is the exception's class (``ValueError``), a request that ran out of
time is ``timeout``; an answered one has status 200 and no error. Shadows never reach this hook:
their answers and failures are the shadow runner's, not the caller's.
"""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass
from typing import Any, Protocol

import pandas as pd
from starlette.requests import ClientDisconnect

from modelyard.errors import InvalidInput, ModelyardError, UserCodeError
from modelyard.serving.labels import as_built
from modelyard.serving.rows import Inputs, Rows, frame_of

OK = 200
INVALID_INPUT = "invalid_input"
TIMEOUT = "timeout"
CLIENT_CLOSED = "client_closed"
CLIENT_CLOSED_STATUS = 499  # nginx's "client closed request": not an answer anyone received


class _Inputs:
    """The ``inputs`` field: given a frame or ``Rows``, read as the frame pandas would build.

    The server records a request before answering it, so the record keeps what it was given (the
    rows' array, no copy) and builds the frame, relabelled by ``labels.as_built``, only when a
    listener reads it; the inference log reads ``ServedRequest.rows`` instead and never does.
    """

    def __get__(self, obj: Any, owner: Any = None) -> pd.DataFrame:
        if obj is None:
            raise AttributeError("inputs")  # a required field: no class-level default
        cached: pd.DataFrame | None = obj.__dict__.get("_inputs_frame")
        if cached is None:
            cached = as_built(frame_of(obj.__dict__["_inputs"]))
            obj.__dict__["_inputs_frame"] = cached
        return cached

    def __set__(self, obj: Any, value: Inputs) -> None:
        obj.__dict__["_inputs"] = value
        obj.__dict__.pop("_inputs_frame", None)


@dataclass(frozen=True, kw_only=True)
class ServedRequest:
    """One request: who answered, what it saw, what it said (or why it failed), how long it took.

    A failed request has ``status`` >= 400 and an ``error`` kind; its ``prediction`` is ``None``,
    its ``inputs`` the frame it was parsed into (empty when the body could not be read) and its
    ``variant``/``model_version`` empty when it failed before a variant was chosen. ``inputs`` may
    be given as ``Rows`` (what the protocols parse an all-number body into); it reads as a frame.
    """

    request_id: str
    time_ms: int
    deployment: str
    variant: str
    model_version: str
    inputs: pd.DataFrame = _Inputs()
    prediction: Any
    latency_ms: float
    status: int = OK
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None or self.status >= 400

    @property
    def rows(self) -> Rows | None:
        """The inputs as the protocol's array, when they were given as ``Rows`` (no frame built)."""
        given = self.__dict__["_inputs"]
        return given if isinstance(given, Rows) else None


def error_kind(exc: BaseException) -> str:
    """The ``error`` recorded for ``exc``: ``invalid_input``, ``timeout`` or the exception's class.

    A model's own exception arrives wrapped in ``UserCodeError``; its cause's class is the kind, so
    the log says ``ZeroDivisionError``, not the wrapper.
    """
    if isinstance(exc, InvalidInput):
        return INVALID_INPUT
    if isinstance(exc, ClientDisconnect):
        return CLIENT_CLOSED
    if isinstance(exc, TimeoutError):
        return TIMEOUT
    if isinstance(exc, UserCodeError) and exc.__cause__ is not None:
        return type(exc.__cause__).__name__
    return type(exc).__name__


def error_status(exc: BaseException) -> int:
    """The HTTP status a request failing with ``exc`` is answered with."""
    if isinstance(exc, ModelyardError):
        return exc.http_status
    if isinstance(exc, ClientDisconnect):
        return CLIENT_CLOSED_STATUS
    return 504 if isinstance(exc, TimeoutError) else 500


class RequestLogger(Protocol):
    """Receives every request of a served deployment, answered or failed. ``record`` must never block and never raise.

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

    def wake(self) -> None:
        """Wake a consumer sleeping in ``wait`` (someone wants it to look again, e.g. a flush)."""
        self._arrived.set()

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
