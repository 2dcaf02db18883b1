"""Schema creation and upgrades: automatic for a new store, explicit for an old one, never twice."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, text

from modelyard.errors import BackendUnavailable, NotFound
from modelyard.store.db import Database, sqlite_file_lock
from modelyard.store.migration import (
    MIGRATIONS_DIR,
    _migration_lock,
    current_revision,
    ensure_schema,
    head_revision,
    upgrade,
)

pytestmark = pytest.mark.empty_store  # these tests create (or refuse to create) the schema

_fork = multiprocessing.get_context("fork")


def _upgrade_to(db: Database, revision: str) -> None:
    with db.engine.connect() as conn:
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        conn.commit()


def test_a_new_store_is_created_once(store_url: str) -> None:
    db = Database(store_url)
    try:
        assert current_revision(db) is None
        assert ensure_schema(db) is True
        assert current_revision(db) == head_revision()
        assert ensure_schema(db) is False
        with db.read() as conn:
            names = set(inspect(conn).get_table_names())
        assert {"experiments", "runs", "params", "tags", "metrics", "latest_metrics", "environments"} <= names
    finally:
        db.dispose()


def test_an_outdated_store_is_refused_until_upgraded(store_url: str) -> None:
    db = Database(store_url)
    try:
        _upgrade_to(db, "0001_tracking")
        with pytest.raises(BackendUnavailable, match="modelyard db upgrade"):
            ensure_schema(db)
        assert upgrade(db) == ("0001_tracking", head_revision())
        assert ensure_schema(db) is False
        assert upgrade(db) == (head_revision(), head_revision())  # safe to run twice
    finally:
        db.dispose()


def test_upgrade_creates_an_empty_store(store_url: str) -> None:
    db = Database(store_url)
    try:
        assert upgrade(db) == (None, head_revision())
        assert current_revision(db) == head_revision()
    finally:
        db.dispose()


def test_another_tools_tables_are_not_taken_over(store_url: str) -> None:
    db = Database(store_url)
    try:
        with db.begin() as conn:
            conn.execute(text("CREATE TABLE experiments (experiment_id INTEGER PRIMARY KEY, name TEXT)"))
        with pytest.raises(BackendUnavailable, match="another tool"):
            ensure_schema(db)
        assert current_revision(db) is None
    finally:
        db.dispose()


def _ensure_in_child(store_url: str, results: Any) -> None:
    db = Database(store_url)
    try:
        results.put(("ok", ensure_schema(db)))
    except Exception as exc:
        results.put(("error", f"{type(exc).__name__}: {exc}"))


def test_a_store_another_process_is_still_creating_is_waited_for_not_refused(store_url: str) -> None:
    """Each revision commits on its own, so a process starting mid-creation sees a middle revision."""
    db = Database(store_url)
    results = _fork.Queue()
    try:
        with _migration_lock(db):  # we are "the other process", one revision into creating the schema
            _upgrade_to(db, "0001_tracking")
            child = _fork.Process(target=_ensure_in_child, args=(store_url, results))
            child.start()
            time.sleep(1.0)  # let the child find the half-made schema; a slow child only weakens the test
            _upgrade_to(db, "head")
        assert results.get(timeout=60) == ("ok", False)
        child.join(timeout=30)
        assert child.exitcode == 0
    finally:
        db.dispose()


def test_head_read_from_the_files_is_alembics_head() -> None:
    from modelyard.store.migration import _head_from_files

    assert _head_from_files() == head_revision()


def test_a_store_without_schema_is_not_found_unless_creating(store_url: str) -> None:
    db = Database(store_url)
    with pytest.raises(NotFound, match="no modelyard store at"):
        ensure_schema(db, create=False)
    assert current_revision(db) is None
    assert ensure_schema(db, create=True) is True
    assert ensure_schema(db, create=False) is False
    db.dispose()


def test_a_missing_sqlite_file_is_not_created_when_only_reading(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'typo' / 'x.db'}"
    with pytest.raises(NotFound, match="no modelyard store at"):
        Database(url, create=False)
    assert not (tmp_path / "typo").exists()


def _start_on_new_store(url: str, barrier: Any, results: Any) -> None:
    """A process opening a store at the same instant as seven others, then writing to it."""
    try:
        barrier.wait(timeout=60)
        db = Database(url)
        ensure_schema(db)
        with db.begin() as conn:
            conn.execute(text("SELECT 1"))
        results.put(("ok", ""))
    except BaseException as exc:
        results.put(("error", f"{type(exc).__name__}: {exc}"))


def test_eight_processes_opening_a_brand_new_sqlite_store_at_once_all_start(tmp_path: Path) -> None:
    """The switch to WAL of a new file is not covered by the busy timeout: it must be locked."""
    for round_ in range(4):
        url = f"sqlite:///{tmp_path / f'new{round_}.db'}"
        barrier, results = _fork.Barrier(8), _fork.Queue()
        children = [_fork.Process(target=_start_on_new_store, args=(url, barrier, results)) for _ in range(8)]
        for child in children:
            child.start()
        outcomes = [results.get(timeout=120) for _ in children]
        for child in children:
            child.join(timeout=30)
        assert outcomes == [("ok", "")] * 8, outcomes


def _open_new_store(url: str, results: Any) -> None:
    results.put(("opening", ""))
    try:
        db = Database(url)
        with db.begin() as conn:
            mode = conn.execute(text("PRAGMA journal_mode")).scalar_one()
        results.put(("ok", mode))
    except BaseException as exc:
        results.put(("error", f"{type(exc).__name__}: {exc}"))


def test_a_new_sqlite_file_switches_to_wal_under_the_migration_lock(tmp_path: Path) -> None:
    """Two processes switching one new file to WAL at once can fail at once with `database is
    locked` (SQLite does not wait on its busy timeout there), so the switch waits for the lock."""
    url = f"sqlite:///{tmp_path / 'new.db'}"
    results = _fork.Queue()
    with sqlite_file_lock(str(tmp_path / "new.db")):
        child = _fork.Process(target=_open_new_store, args=(url, results))
        child.start()
        assert results.get(timeout=60) == ("opening", "")
        child.join(timeout=2.0)
        assert child.is_alive()  # held at the lock: it cannot have switched the file yet
        assert results.empty()
    assert results.get(timeout=60) == ("ok", "wal")
    child.join(timeout=30)
