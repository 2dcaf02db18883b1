"""Stores at the head revision, made once per test process and copied for each test.

Running the migrations costs about 0.5 s per SQLite store and 2 s per PostgreSQL database, more
than most tests spend on what they test; a copy costs milliseconds (a file copy, or PostgreSQL's
``CREATE DATABASE … TEMPLATE``). The migrations themselves stay tested: tests/store creates
stores from nothing, and every test marked ``empty_store`` gets a store with no schema at all.
"""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from modelyard.store.db import Database
from modelyard.store.migration import ensure_schema


def wants_empty_store(request: pytest.FixtureRequest) -> bool:
    """Whether the test is marked ``empty_store`` (it creates the schema itself, or checks a store
    that has none)."""
    return request.node.get_closest_marker("empty_store") is not None


class MigratedTemplates:
    """Lazily built templates: a SQLite file, and a PostgreSQL database on the admin engine."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._sqlite: Path | None = None
        self._postgres: tuple[Engine, str] | None = None

    def copy_sqlite(self, target: Path) -> None:
        """Put a migrated store at ``target`` (which must not exist yet)."""
        if self._sqlite is None:
            template = self._folder / "template.db"
            database = Database(f"sqlite:///{template}")
            ensure_schema(database)
            database.dispose()
            with sqlite3.connect(template) as conn:  # fold the WAL into the file: the copy is whole
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._sqlite = template
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self._sqlite, target)

    def postgres_template(self, admin: Engine) -> str:
        """The name of a migrated database to pass as ``TEMPLATE`` (no session may stay on it)."""
        if self._postgres is None:
            name = f"modelyard_template_{uuid.uuid4().hex[:12]}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            url = make_url(admin.url).set(database=name).render_as_string(hide_password=False)
            database = Database(url)
            ensure_schema(database)
            database.dispose()
            self._postgres = (admin, name)
        return self._postgres[1]

    def close(self) -> None:
        if self._postgres is not None:
            admin, name = self._postgres
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
