"""Running the app on uvicorn: in the foreground with N workers, or in a thread for tests.

Several workers share one listening socket made here, with ``IPPROTO_TCP`` given explicitly:
asyncio only sets ``TCP_NODELAY`` on connections accepted from a socket whose ``proto`` says TCP,
and uvicorn's own multi-worker path hands children sockets with ``proto == 0`` (uvicorn #3149),
which costs every keep-alive response a ~40 ms delayed-ACK stall. Workers are forked from this
process, so they inherit the in-memory plan (predictors included) without pickling it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import uvicorn
from starlette.applications import Starlette

from modelyard.errors import BackendUnavailable, InvalidInput
from modelyard.serving.app import create_app
from modelyard.serving.plan import PlanHolder, ServingPlan


def bind_socket(host: str, port: int, *, backlog: int = 2048) -> socket.socket:
    """A listening TCP socket whose accepted connections get ``TCP_NODELAY`` from asyncio."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


def _config(app: Starlette, *, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(app, log_level=log_level, access_log=False, ws="none", lifespan="on", timeout_keep_alive=30)


def run(
    plan: ServingPlan | PlanHolder,
    host: str = "127.0.0.1",
    port: int = 8080,
    workers: int = 1,
    *,
    log_level: str = "warning",
    app: Starlette | None = None,
) -> None:
    """Serve ``plan`` until interrupted (SIGINT/SIGTERM), with ``workers`` processes on one port."""
    if workers < 1:
        raise InvalidInput(f"workers must be at least 1, got {workers}")
    application = app or create_app(plan)
    sock = bind_socket(host, port)
    if workers == 1:
        uvicorn.Server(_config(application, log_level=log_level)).run(sockets=[sock])
        return
    children: list[int] = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            code = 0
            try:
                uvicorn.Server(_config(application, log_level=log_level)).run(sockets=[sock])
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        children.append(pid)
    sock.close()

    def forward(signum: int, frame: object) -> None:
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGTERM)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    for child in children:
        os.waitpid(child, 0)


@dataclass
class RunningServer:
    """A uvicorn server running in a thread of this process; ``url`` is its base URL."""

    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)


def start_in_thread(app: Starlette, host: str = "127.0.0.1", port: int = 0, *, timeout: float = 20.0) -> RunningServer:
    """Start ``app`` on a free port (``port=0``) in a daemon thread; returns once it answers ready."""
    sock = bind_socket(host, port)
    bound_port = sock.getsockname()[1]
    server = uvicorn.Server(_config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="modelyard-serve")
    thread.start()
    url = f"http://{host}:{bound_port}"
    wait_ready(url, timeout=timeout)
    return RunningServer(url=url, server=server, thread=thread)


@contextlib.contextmanager
def serving(app: Starlette, host: str = "127.0.0.1", port: int = 0) -> Iterator[RunningServer]:
    """``start_in_thread`` as a context manager that stops the server on exit."""
    running = start_in_thread(app, host, port)
    try:
        yield running
    finally:
        running.stop()


def wait_ready(url: str, *, timeout: float = 20.0) -> None:
    """Poll ``{url}/v2/health/ready`` until it answers 200; ``BackendUnavailable`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{url}/v2/health/ready", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise BackendUnavailable(f"server at {url} did not become ready within {timeout:g} s")
        time.sleep(0.05)
