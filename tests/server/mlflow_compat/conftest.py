"""A real modelyard server on 127.0.0.1 that the real ``mlflow`` client talks to.

``mlflow_server`` starts uvicorn in a thread on a free port over a fresh store (SQLite and, when
configured, PostgreSQL) and points the mlflow client at it with ``MLFLOW_TRACKING_URI``; the
client's retries are turned off so a wrong answer fails the test at once instead of after minutes
of backoff.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

from modelyard.config import Settings
from modelyard.sdk.backends.local import LocalBackend
from modelyard.server.mlflow_compat import router
from tests._mlflow import MLFLOW_MARKS


def build_app(settings: Settings) -> FastAPI:
    """The app under test: the MLflow-compatible router over a backend for ``settings``."""
    app = FastAPI()
    app.state.backend = LocalBackend.open(settings)
    app.include_router(router)
    return app


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            for mark in MLFLOW_MARKS:
                item.add_marker(mark)


@dataclass
class RunningServer:
    url: str
    backend: LocalBackend


@pytest.fixture
def mlflow_server(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningServer]:
    app = build_app(settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.delenv("MLFLOW_EXPERIMENT_ID", raising=False)  # set_experiment writes it
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    import mlflow
    import mlflow.tracking.fluent

    mlflow.tracking.fluent._active_experiment_id = None  # the client remembers the last test's experiment
    mlflow.set_tracking_uri(url)
    mlflow.set_registry_uri(url)
    try:
        yield RunningServer(url=url, backend=app.state.backend)
    finally:
        while mlflow.active_run() is not None:
            mlflow.end_run()
        server.should_exit = True
        thread.join(10)
        sock.close()
        app.state.backend.db.dispose()
