"""Fixtures of the server's tests: a real server process over PostgreSQL (or SQLite), and the
parity pair of an embedded and a remote client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from modelyard.config import Settings
from modelyard.sdk.client import Client
from tests.server._running import ADMIN, RunningServer, running_server


def server_store(tmp: Path, store_uri: str) -> Settings:
    return Settings(
        home=tmp / "server-home", store_uri=store_uri, artifact_uri=str(tmp / "server-artifacts"), user=ADMIN,
        capture_environment=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One server process over a fresh PostgreSQL database, shared by a module's tests."""
    from tests.conftest import POSTGRES_URL_VAR, _postgres_admin_url

    admin = _postgres_admin_url()
    if admin is None:
        pytest.skip(f"{POSTGRES_URL_VAR} is not set: no PostgreSQL to test against")
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"modelyard_test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    try:
        with running_server(server_store(tmp_path_factory.mktemp("pg-server"), url)) as server:
            yield server
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    tmp = tmp_path_factory.mktemp("sqlite-server")
    with running_server(server_store(tmp, f"sqlite:///{tmp / 'server.db'}")) as server:
        yield server


def remote_settings(server: RunningServer, home: Path, token: str | None = None) -> Settings:
    return Settings(
        home=home, tracking_uri=server.url, token=token or server.admin_token, capture_environment=False,
        metric_flush_interval_s=0.2,
    )  # fmt: skip


@pytest.fixture(scope="module", params=["embedded-sqlite", "server-postgresql"])
def parity_client(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Client:
    """The same ``Client`` API over the embedded store (SQLite) or through a server (PostgreSQL)."""
    tmp = tmp_path_factory.mktemp(request.param)
    if request.param == "embedded-sqlite":
        return Client(server_store(tmp, f"sqlite:///{tmp / 'embedded.db'}"))
    server: RunningServer = request.getfixturevalue("pg_server")
    return Client(remote_settings(server, tmp / "client-home"))


ClientFactory = Callable[[str], Client]
