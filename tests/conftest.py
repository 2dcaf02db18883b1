"""Fixtures shared by every context: stores on SQLite and, when configured, PostgreSQL.

``store_url`` is parametrised over both engines; a test that takes it (or ``db``) runs once per
engine. PostgreSQL runs need ``MODELYARD_TEST_POSTGRES_URL`` (``.ci/run`` sets it); without it
those runs skip with that reason. Each PostgreSQL test gets a database of its own, dropped after.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from modelyard.config import Settings
from modelyard.store.db import Database
from modelyard.store.migration import ensure_schema

POSTGRES_URL_VAR = "MODELYARD_TEST_POSTGRES_URL"


def _postgres_admin_url() -> str | None:
    url = os.environ.get(POSTGRES_URL_VAR)
    if not url:
        return None
    return Settings(store_uri=url, home=Path("/nonexistent")).store_uri  # normalises the driver


@pytest.fixture
def postgres_url_factory() -> Iterator[Callable[[], str]]:
    """Makes fresh, empty PostgreSQL databases; drops them when the test ends."""
    admin = _postgres_admin_url()
    if admin is None:
        pytest.skip(f"{POSTGRES_URL_VAR} is not set: no PostgreSQL to test against")
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    created: list[str] = []

    def make() -> str:
        name = f"modelyard_test_{uuid.uuid4().hex[:12]}"
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return make_url(admin).set(database=name).render_as_string(hide_password=False)

    yield make
    with engine.connect() as conn:
        for name in created:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of a new, empty store: one SQLite file, or one PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("postgres_url_factory")()


@pytest.fixture
def db(store_url: str) -> Iterator[Database]:
    """A migrated store, on each engine."""
    database = Database(store_url)
    ensure_schema(database)
    yield database
    database.dispose()


@pytest.fixture
def settings(store_url: str, tmp_path: Path) -> Settings:
    """Settings pointing at a fresh store and a fresh artifact folder, on each engine."""
    return Settings(
        home=tmp_path / "home",
        store_uri=store_url,
        artifact_uri=str(tmp_path / "artifacts"),
        user="tester",
        capture_environment=False,
    )
