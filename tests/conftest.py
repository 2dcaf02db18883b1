"""Fixtures shared by every context: stores on SQLite and, when configured, PostgreSQL.

``store_url`` is parametrised over both engines; a test that takes it (or ``db``) runs once per
engine. PostgreSQL runs need ``MODELYARD_TEST_POSTGRES_URL`` (``.ci/run`` sets it); without it
those runs skip with that reason. Each PostgreSQL test gets a database of its own, dropped after.
Stores start at the head revision, copied from a template (tests/_templates.py); a test that
needs a store with no schema yet is marked ``empty_store``.
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
from tests._templates import MigratedTemplates, wants_empty_store

POSTGRES_URL_VAR = "MODELYARD_TEST_POSTGRES_URL"


def _postgres_admin_url() -> str | None:
    url = os.environ.get(POSTGRES_URL_VAR)
    if not url:
        return None
    return Settings(store_uri=url, home=Path("/nonexistent")).store_uri  # normalises the driver


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MigratedTemplates]:
    """This test process's templates of a store at the head revision."""
    templates = MigratedTemplates(tmp_path_factory.mktemp("store-template"))
    yield templates
    templates.close()


@pytest.fixture
def postgres_url_factory(migrated_templates: MigratedTemplates) -> Iterator[Callable[..., str]]:
    """Makes fresh PostgreSQL databases, empty or (``migrated=True``) at the head revision; drops
    them when the test ends."""
    admin = _postgres_admin_url()
    if admin is None:
        pytest.skip(f"{POSTGRES_URL_VAR} is not set: no PostgreSQL to test against")
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    created: list[str] = []

    def make(*, migrated: bool = False) -> str:
        name = f"modelyard_test_{uuid.uuid4().hex[:12]}"
        template = f' TEMPLATE "{migrated_templates.postgres_template(engine)}"' if migrated else ""
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"{template}'))
        created.append(name)
        return make_url(admin).set(database=name).render_as_string(hide_password=False)

    yield make
    with engine.connect() as conn:
        for name in created:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path, migrated_templates: MigratedTemplates) -> str:
    """A URL of a new store of its own at the head revision (with no schema when the test is marked
    ``empty_store``): one SQLite file, or one PostgreSQL database."""
    if request.param == "sqlite":
        path = tmp_path / "store.db"
        if not wants_empty_store(request):
            migrated_templates.copy_sqlite(path)
        return f"sqlite:///{path}"
    return request.getfixturevalue("postgres_url_factory")(migrated=not wants_empty_store(request))


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


RAY_START_ATTEMPTS = 4  # Ray waits a fixed 30 s for its raylet; on a loaded machine a start can miss it


@pytest.fixture(scope="session")
def local_ray() -> Iterator[str]:
    """One local Ray instance for the whole session (each xdist worker starts its own); its address.

    Starting Ray takes several seconds and, under load, sometimes more than its own fixed 30 s
    wait for the raylet: one instance is shared by every test that needs it, and a start that
    times out is retried (up to four, so about two minutes in all) rather than failing a test.
    4 logical CPUs: batch inference spreads over 4 actors, a pipeline step asks for 2.
    """
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'modelyard[ray]')")
    repo = Path(__file__).resolve().parents[1]
    for attempt in range(1, RAY_START_ATTEMPTS + 1):
        try:
            ray.init(
                num_cpus=4,
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=False,
                # workers import the tests' steps, and this checkout's modelyard (a worktree's too)
                runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join((str(repo / "src"), str(repo)))}},
            )
            break
        except Exception:  # Ray raises a bare Exception when the raylet is late
            ray.shutdown()
            if attempt == RAY_START_ATTEMPTS:
                raise
    yield str(ray.get_runtime_context().gcs_address)
    ray.shutdown()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that use Ray run first, together: xdist's work stealing hands each worker a contiguous
    run of the collection and steals from its end, so they stay on one worker, which starts Ray once
    instead of every worker starting its own (several seconds of both cores each)."""
    items.sort(key=lambda item: "local_ray" not in getattr(item, "fixturenames", ()))
