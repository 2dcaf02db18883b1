"""A faster store fixture for tests that only need an *empty* migrated store, not a *new* one.

Creating and migrating a PostgreSQL database costs seconds per test; these tests share one
migrated database per xdist worker and empty it (TRUNCATE) before each test instead. Tests of
schema creation itself use the root ``store_url`` fixture, which gives a brand-new database.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from modelyard.config import Settings
from modelyard.store.db import Database
from modelyard.store.migration import ensure_schema

POSTGRES_URL_VAR = "MODELYARD_TEST_POSTGRES_URL"


@pytest.fixture(scope="session")
def shared_postgres_url() -> Iterator[str]:
    """One migrated PostgreSQL database for this worker's session; dropped at the end."""
    raw = os.environ.get(POSTGRES_URL_VAR)
    if not raw:
        pytest.skip(f"{POSTGRES_URL_VAR} is not set: no PostgreSQL to test against")
    admin = Settings(store_uri=raw, home=Path("/nonexistent")).store_uri
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    name = f"modelyard_shared_{uuid.uuid4().hex[:12]}"
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    database = Database(url)
    ensure_schema(database)
    database.dispose()
    yield url
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (closing the last connection folds in the WAL)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "store.db"
    database = Database(f"sqlite:///{path}")
    ensure_schema(database)
    database.dispose()
    return path


def _empty(url: str) -> None:
    # DELETE on the few rows a test leaves is far cheaper than TRUNCATE (new files per table);
    # replica mode skips the foreign-key triggers so the order of the tables does not matter.
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL lock_timeout = '20s'"))
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            names = conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename != 'alembic_version'")
            ).scalars()
            for name in list(names):
                conn.execute(text(f'DELETE FROM "{name}"'))
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def fast_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty, migrated store: a new SQLite file, or the worker's emptied PostgreSQL."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("_sqlite_template")
        shutil.copyfile(template, tmp_path / "store.db")
        return f"sqlite:///{tmp_path / 'store.db'}"
    url: str = request.getfixturevalue("shared_postgres_url")
    _empty(url)
    return url
