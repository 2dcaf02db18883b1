"""Running the server on uvicorn with N worker processes on one port.

The listening sockets come from ``serving.runner`` (the lessons of ``modelyard serve``): made
with ``IPPROTO_TCP`` so that every accepted connection gets ``TCP_NODELAY`` (uvicorn's own
multi-worker path loses it, and a keep-alive client then waits ~40 ms per call on a delayed ACK),
and on Linux one ``SO_REUSEPORT`` socket per worker so the kernel spreads connections across
them. Each worker is forked before it builds its app, so each opens its own store connections.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from modelyard.errors import InvalidInput
from modelyard.serving.runner import bind_socket, supervise, worker_sockets


def _config(app: FastAPI, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(app, log_level=log_level, access_log=False, ws="none", lifespan="off", timeout_keep_alive=30)


def run(make_app: Callable[[], FastAPI], host: str, port: int, workers: int = 1, *, log_level: str = "warning") -> None:
    """Serve until SIGINT/SIGTERM; a worker that dies takes the others down (``BackendUnavailable``)."""
    if workers < 1:
        raise InvalidInput(f"--workers must be at least 1, got {workers}")
    if workers == 1:
        sock = bind_socket(host, port)
        uvicorn.Server(_config(make_app(), log_level)).run(sockets=[sock])
        return
    sockets = worker_sockets(host, port, workers)
    children: list[int] = []
    for index in range(workers):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            code = 0
            mine = sockets[index % len(sockets)]
            for other in sockets:
                if other is not mine:
                    other.close()
            try:
                uvicorn.Server(_config(make_app(), log_level)).run(sockets=[mine])
            except BaseException:
                traceback.print_exc()
                code = 1
            finally:
                os._exit(code)
        children.append(pid)
    for sock in sockets:
        sock.close()
    supervise(children)  # serve's supervisor: signals forwarded, one dead worker stops the rest
