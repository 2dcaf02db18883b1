"""How long and how many: the model server's connection limits, so idle or slow clients cannot
lock everyone else out.

Without them, 1,100 connections that never sent a byte held every file descriptor of a server
under a 1,024 limit. uvicorn times out idle keep-alive connections but not a connection that has
not finished its request head, and it answers 503 over a cap but keeps the connection; the HTTP
protocol class made here adds both:

* ``header_timeout_s``: a connection whose request head is not complete by then is closed, for
  the first request and for each next one on a keep-alive connection (counted from the answer
  before it);
* ``max_connections``: a connection beyond the cap is closed at once (the others keep working);
* ``keep_alive_s``: an idle keep-alive connection is closed after this (uvicorn's timer).

A request body that stalls is the handler's (``http.read_body``: 408 after ``BODY_TIMEOUT_S``).
"""

from __future__ import annotations

import asyncio
import resource
from dataclasses import dataclass
from typing import Any

from modelyard.errors import InvalidInput

_RESERVED_FDS = 64  # files, sockets to the store, pipes: what the server needs beside clients


def _default_max_connections() -> int:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 1000
    return max(16, min(1000, soft - _RESERVED_FDS))


@dataclass(frozen=True, kw_only=True)
class ServerLimits:
    """The server's connection limits (see the module docstring); the defaults suit most uses."""

    header_timeout_s: float = 10.0
    keep_alive_s: float = 5.0
    max_connections: int = 0  # 0: 1,000, or fewer when the file-descriptor limit is lower

    def __post_init__(self) -> None:
        for name in ("header_timeout_s", "keep_alive_s"):
            value = getattr(self, name)
            if not value > 0:
                raise InvalidInput(f"{name} must be a positive number of seconds, got {value!r}")
        if self.max_connections < 0:
            raise InvalidInput(f"max_connections must be positive (0 for the default), got {self.max_connections}")

    @property
    def connection_cap(self) -> int:
        return self.max_connections or _default_max_connections()


def protocol_class(limits: ServerLimits) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol (httptools when installed, else h11) with the head timeout and the
    connection cap added."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as base
    except ImportError:  # httptools is optional for uvicorn
        from uvicorn.protocols.http.h11_impl import H11Protocol as base  # type: ignore[assignment]
    cap = limits.connection_cap
    header_timeout_s = limits.header_timeout_s

    class LimitedProtocol(base):
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            if len(self.connections) > cap:
                self.connections.discard(self)
                transport.close()
                return
            self._head_timer: asyncio.TimerHandle | None = None
            self._arm_head_timer()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            # The next request's head has the same deadline as the first: uvicorn's keep-alive
            # timer stops at the first byte of it, so a head left unfinished would hold on for ever.
            if not self.transport.is_closing() and not getattr(self, "pipeline", None):
                self._arm_head_timer()

        def _arm_head_timer(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
            self._head_timer = self.loop.call_later(header_timeout_s, self._head_timed_out, self.cycle)

        def _head_timed_out(self, cycle_when_armed: Any) -> None:
            # A new request whose head was complete replaced the cycle; the same cycle means no
            # whole request head arrived since the deadline was set: a slow or idle client.
            self._head_timer = None
            if self.cycle is cycle_when_armed and not self.transport.is_closing():
                self.transport.close()

        def connection_lost(self, exc: Exception | None) -> None:
            timer = getattr(self, "_head_timer", None)
            if timer is not None:
                timer.cancel()
            super().connection_lost(exc)

    return LimitedProtocol
