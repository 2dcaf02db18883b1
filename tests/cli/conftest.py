"""Run the real ``modelyard`` command in a process of its own (``tests/_cli.py``), with its home, store and
artifacts in tmp_path."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from modelyard.config import Settings
from modelyard.sdk.client import Client
from tests._cli import run_modelyard
from tests._subprocess import child_env as subprocess_env
from tests._templates import MigratedTemplates, wants_empty_store

RunCli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def cli_settings(tmp_path: Path, request: pytest.FixtureRequest, migrated_templates: MigratedTemplates) -> Settings:
    """Where the command under test keeps things: a SQLite store (at the head revision unless the
    test is marked ``empty_store``) and artifacts below tmp_path."""
    if not wants_empty_store(request):
        migrated_templates.copy_sqlite(tmp_path / "home" / "modelyard.db")
    return Settings(
        home=tmp_path / "home",
        store_uri=f"sqlite:///{tmp_path / 'home' / 'modelyard.db'}",
        artifact_uri=str(tmp_path / "home" / "artifacts"),
        user="tester",
        capture_environment=False,
    )


@pytest.fixture
def run_cli(cli_settings: Settings) -> RunCli:
    """``run_cli("runs", "list", "--json", env={...})``: the finished process, output as text.

    The child sees only this test's MODELYARD_* variables (the caller's own are removed), so a
    developer's ~/.modelyard is never touched.
    """

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        child_env = subprocess_env(cli_settings, **(env or {}))
        return run_modelyard(args, env=child_env)

    return run


@pytest.fixture
def cli_client(cli_settings: Settings) -> Iterator[Client]:
    """An in-process client on the same store, to seed data and check what the command did."""
    client = Client(cli_settings)
    yield client
    client.backend.db.dispose()


@pytest.fixture
def store_url(tmp_path: Path, request: pytest.FixtureRequest, migrated_templates: MigratedTemplates) -> str:
    """SQLite only, overriding the two-engine fixture of tests/conftest.py.

    A CLI test translates argv into service calls, and the services' own tests run on SQLite and
    PostgreSQL; here every call is a new interpreter that costs seconds, so running each CLI test
    twice would double the most expensive part of the suite for no new coverage
    (``test_db.py`` still runs ``db upgrade`` against PostgreSQL).
    """
    if not wants_empty_store(request):
        migrated_templates.copy_sqlite(tmp_path / "store.db")
    return f"sqlite:///{tmp_path / 'store.db'}"
