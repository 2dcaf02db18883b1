"""Schema creation and upgrades through Alembic, safe when many processes start at once.

A brand-new store is created automatically; an existing store at an older revision is left alone
until someone runs ``modelyard db upgrade``, so no process silently migrates a shared database.
Every upgrade runs under a lock (a file lock beside a SQLite file, an advisory lock on
PostgreSQL) and re-checks the revision once it holds it, so eight processes starting on an empty
store create the schema exactly once. Each revision runs in one transaction on both engines.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from modelyard.errors import BackendUnavailable
from modelyard.store.db import Database, missing_store, sqlite_file_lock

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_PG_LOCK_KEY = 7_345_202_611  # an arbitrary constant: "modelyard schema" advisory lock


# Alembic is imported only when a schema is created, upgraded or found behind: importing it costs
# about 0.2 s, a large share of a CLI call, and a store already at the head revision needs none of
# it (``_head_from_files`` and ``_stored_revision`` answer that with one file scan and one query).
_REVISION_LINE = re.compile(r"^(down_revision|revision)\s*(?::[^=]*)?=\s*['\"]?([\w.-]+|None)['\"]?\s*$", re.MULTILINE)


def _config(conn: Connection | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if conn is not None:
        cfg.attributes["connection"] = conn
    return cfg


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The revision this version of modelyard expects."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None, "the migrations folder has no revisions"
    return head


@lru_cache(maxsize=1)
def _head_from_files() -> str | None:
    """The head revision read from the migration files' ``revision``/``down_revision`` lines.

    The one revision no other names as its ``down_revision``; ``None`` when that is not exactly
    one (then the callers ask Alembic). tests/store/test_migration.py checks it equals Alembic's.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        found = dict(_REVISION_LINE.findall(path.read_text(encoding="utf-8")))
        if "revision" not in found:
            return None
        revisions.add(found["revision"])
        parents.add(found.get("down_revision", "None"))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _stored_revision(db: Database) -> str | None:
    """The store's revision read with one query (no Alembic), ``None`` when there is none."""
    with db.read() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        try:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        except DBAPIError:
            return None
    return rows[0] if len(rows) == 1 else None


def current_revision(db: Database) -> str | None:
    """The store's revision, or ``None`` for a store with no modelyard schema yet."""
    from alembic.runtime.migration import MigrationContext

    with db.read() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def ensure_schema(db: Database, *, create: bool = True) -> bool:
    """Make a new store ready; refuse an outdated one with the command that fixes it.

    Returns whether this call created the schema, so callers (and the test that starts eight
    processes on one empty store) can tell that exactly one of them did. With ``create=False``
    a store with no modelyard schema is ``NotFound`` (a mistyped location must not become a new
    empty store behind the user's back: only commands that write create one).
    """
    stored = _stored_revision(db)
    if stored is not None and stored == _head_from_files():
        return False
    if stored is None and not create:
        raise missing_store(db.safe_url)
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
    from alembic import command

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
