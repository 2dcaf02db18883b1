"""A real ``modelyard server`` process on a free 127.0.0.1 port, over a given store, with an admin
token bootstrapped through the embedded backend (as an operator does on the server's machine)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from modelyard.config import Settings
from modelyard.sdk.backends.local import LocalBackend
from tests._subprocess import child_env, stop_group
from tests._subprocess import free_port as free_port

ADMIN = "admin"


@dataclass(frozen=True)
class RunningServer:
    url: str
    admin_token: str
    store: Settings  # the server's own settings (its store), for tests that bootstrap more users
    process: subprocess.Popen[bytes]
    log: Path  # the server's stdout and stderr


def bootstrap_admin(store: Settings) -> str:
    """The store's first user (``admin``, so admin) and a token for them."""
    backend = LocalBackend.open(store)
    try:
        backend.identity.whoami()  # provisions the first local user as admin
        _, secret = backend.identity.create_token(description="test admin")
        return secret
    finally:
        backend.db.dispose()


@contextmanager
def running_server(store: Settings, *args: str, workers: int = 1) -> Iterator[RunningServer]:
    """Start ``modelyard server`` over ``store``; stop it (and its workers) on exit."""
    token = bootstrap_admin(store)
    port = free_port()
    log = Path(store.home) / f"server-{port}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "modelyard", "server", "--port", str(port), "--workers", str(workers), *args],
            env=child_env(store, user=ADMIN),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process, log)
        yield RunningServer(url=url, admin_token=token, store=store, process=process, log=log)
    finally:
        stop_group(process)


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server at {url} not ready after {timeout:g} s: {log.read_text()[-2000:]}")
