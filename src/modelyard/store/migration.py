"""Schema creation and upgrades through Alembic, safe when many processes start at once.

A brand-new store is created automatically; an existing store at an older revision is left alone
until someone runs ``modelyard db upgrade``, so no process silently migrates a shared database.
Every upgrade runs under a lock (a file lock beside a SQLite file, an advisory lock on
PostgreSQL) and re-checks the revision once it holds it, so eight processes starting on an empty
store create the schema exactly once. Each revision runs in one transaction on both engines.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.engine import make_url

from modelyard.errors import BackendUnavailable
from modelyard.store.db import Database, sqlite_file_lock

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_PG_LOCK_KEY = 7_345_202_611  # an arbitrary constant: "modelyard schema" advisory lock


def _config(conn: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if conn is not None:
        cfg.attributes["connection"] = conn
    return cfg


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The revision this version of modelyard expects."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None, "the migrations folder has no revisions"
    return head


def current_revision(db: Database) -> str | None:
    """The store's revision, or ``None`` for a store with no modelyard schema yet."""
    with db.read() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def ensure_schema(db: Database) -> bool:
    """Make a new store ready; refuse an outdated one with the command that fixes it.

    Returns whether this call created the schema, so callers (and the test that starts eight
    processes on one empty store) can tell that exactly one of them did.
    """
    if current_revision(db) == head_revision():
        return False
    # Re-read under the lock: another process may be midway through creating the schema (each
    # revision commits on its own), and an intermediate revision is not an outdated store.
    with _migration_lock(db):
        revision = current_revision(db)
        if revision == head_revision():
            return False
        if revision is None:
            _refuse_foreign_tables(db)
            _run_upgrade(db)
            return True
    raise BackendUnavailable(
        f"the store {db.safe_url} is at schema revision {revision}, this modelyard needs "
        f"{head_revision()}: run `modelyard db upgrade`"
    )


def upgrade(db: Database) -> tuple[str | None, str]:
    """Bring the store to the head revision; returns (revision before, revision after)."""
    with _migration_lock(db):
        before = current_revision(db)
        if before != head_revision():
            _run_upgrade(db)
    return before, head_revision()


def _run_upgrade(db: Database) -> None:
    with db.connect() as conn:
        command.upgrade(_config(conn), "head")
        conn.commit()


def _refuse_foreign_tables(db: Database) -> None:
    with db.read() as conn:
        names = set(inspect(conn).get_table_names())
    if "experiments" in names or "runs" in names:
        raise BackendUnavailable(
            f"the store {db.safe_url} has tracking tables but no modelyard schema revision; "
            "is it another tool's database (MLflow's)? Point MODELYARD_STORE_URI at a new database"
        )


@contextmanager
def _migration_lock(db: Database) -> Iterator[None]:
    if db.is_sqlite:
        database = make_url(db.url).database
        if not database or database == ":memory:":
            yield
            return
        with sqlite_file_lock(database):
            yield
        return
    with db.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_KEY})
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_KEY})
            conn.commit()
