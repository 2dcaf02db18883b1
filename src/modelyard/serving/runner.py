"""Running the app on uvicorn: in the foreground with N workers, or in a thread for tests.

Listening sockets are made here, with ``IPPROTO_TCP`` given explicitly (one per worker on Linux,
see ``worker_sockets``):
asyncio only sets ``TCP_NODELAY`` on connections accepted from a socket whose ``proto`` says TCP,
and uvicorn's own multi-worker path hands children sockets with ``proto == 0`` (uvicorn #3149),
which costs every keep-alive response a ~40 ms delayed-ACK stall (Nagle holds the body back until
the client ACKs the headers). uvloop sets ``TCP_NODELAY`` whatever the ``proto``; the socket made
here keeps it right on the plain asyncio loop too.

Workers are forked from this process after the app is built, so each inherits the in-memory plan
(predictors included) without pickling or reloading it; the app's lifespan then starts, in each
worker, its own plan reloader, canary watcher and inference-log writer (segments are named by a
random id, so workers never clash; store connections are reopened after the fork). Metrics are
shared through ``worker_metrics``, and each response names its worker (``x-modelyard-worker``).
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import uvicorn
from starlette.applications import Starlette

from modelyard.errors import BackendUnavailable, Conflict, InvalidInput
from modelyard.serving import worker_metrics
from modelyard.serving.app import create_app
from modelyard.serving.limits import ServerLimits, protocol_class
from modelyard.serving.plan import PlanHolder, ServingPlan


def bind_socket(host: str, port: int, *, backlog: int = 2048, reuse_port: bool = False) -> socket.socket:
    """A listening TCP socket whose accepted connections get ``TCP_NODELAY`` from asyncio.

    A port another process holds is ``Conflict`` and an address this machine cannot listen on is
    ``InvalidInput``, each naming the address, rather than an ``OSError`` traceback.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise Conflict(f"cannot listen on {host}:{port}: the port is in use; choose another with --port") from exc
        raise InvalidInput(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


WORKER_HEADER = "x-modelyard-worker"


def _config(
    app: Starlette, *, log_level: str, worker: bool = False, limits: ServerLimits | None = None
) -> uvicorn.Config:
    headers = [(WORKER_HEADER, str(os.getpid()))] if worker else None  # made in the worker, after fork
    limits = limits or ServerLimits()
    return uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        ws="none",
        lifespan="on",
        http=protocol_class(limits),
        timeout_keep_alive=limits.keep_alive_s,  # type: ignore[arg-type]
        headers=headers,
    )


class WorkerFailed(BackendUnavailable):
    """A worker process of ``run(..., workers=N)`` exited on its own; the others were stopped."""


def run(
    plan: ServingPlan | PlanHolder,
    host: str = "127.0.0.1",
    port: int = 8080,
    workers: int = 1,
    *,
    log_level: str = "warning",
    app: Starlette | None = None,
) -> None:
    """Serve ``plan`` until interrupted (SIGINT/SIGTERM), with ``workers`` processes on one port.

    With several workers, every response carries ``x-modelyard-worker: <pid>`` and ``/metrics``
    sums all workers (``worker_metrics``); call ``worker_metrics.enable()`` before making ``app``
    so that every series is shared, not only those first touched after the fork. A worker that
    dies stops the others and raises ``WorkerFailed``: a half-sized server is not left running.
    """
    if workers < 1:
        raise InvalidInput(f"workers must be at least 1, got {workers}")
    if workers > 1:
        worker_metrics.enable()
    application = app or create_app(plan)
    if workers == 1:
        uvicorn.Server(_config(application, log_level=log_level)).run(sockets=[bind_socket(host, port)])
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
                uvicorn.Server(_config(application, log_level=log_level, worker=True)).run(sockets=[mine])
            except BaseException:
                traceback.print_exc()
                code = 1
            finally:
                os._exit(code)
        children.append(pid)
    for sock in sockets:
        sock.close()
    supervise(children)


def worker_sockets(host: str, port: int, workers: int) -> list[socket.socket]:
    """Listening sockets for ``workers`` processes: one each on Linux, else one they all share.

    On one shared socket, the worker that wakes first accepts every connection waiting (asyncio
    and libuv accept in a loop), so a burst of keep-alive connections lands on one worker and a
    second adds nothing. With ``SO_REUSEPORT`` on Linux each worker listens on its own socket and
    the kernel spreads connections across them by address hash. All are bound here, before any
    fork, so a busy port fails once, in the parent.
    """
    if not sys.platform.startswith("linux"):  # elsewhere SO_REUSEPORT does not balance
        return [bind_socket(host, port)]
    first = bind_socket(host, port, reuse_port=True)
    bound = first.getsockname()[1]
    return [first, *(bind_socket(host, bound, reuse_port=True) for _ in range(workers - 1))]


def supervise(children: list[int]) -> None:
    """Forward SIGINT/SIGTERM to the workers and wait for them all; ``WorkerFailed`` if one died first."""
    stopping = False

    def stop_all() -> None:
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGTERM)

    def forward(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True
        stop_all()

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    failed: list[str] = []
    try:
        while children:
            pid, status = os.wait()
            if pid not in children:
                continue
            children.remove(pid)
            if not stopping:  # a worker went away while nobody asked: take the rest down too
                failed.append(f"worker {pid} exited with status {os.waitstatus_to_exitcode(status)}")
                stopping = True
                stop_all()
    finally:
        worker_metrics.disable()
    if failed:
        raise WorkerFailed("; ".join(failed) + "; the other workers were stopped")


@dataclass
class RunningServer:
    """A uvicorn server running in a thread of this process; ``url`` is its base URL."""

    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)


def start_in_thread(
    app: Starlette,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    timeout: float = 20.0,
    limits: ServerLimits | None = None,
) -> RunningServer:
    """Start ``app`` on a free port (``port=0``) in a daemon thread; returns once it answers ready."""
    sock = bind_socket(host, port)
    bound_port = sock.getsockname()[1]
    server = uvicorn.Server(_config(app, log_level="warning", limits=limits))
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
