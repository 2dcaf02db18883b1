"""The metadata database: SQLite tuned for several writers, clear errors for bad or dead stores."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from sqlalchemy import text

from modelyard.errors import BackendUnavailable, InvalidInput
from modelyard.store.db import SQLITE_BUSY_TIMEOUT_S, Database


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'nested' / 'store.db'}")  # the folder is created
    try:
        with db.read() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == int(SQLITE_BUSY_TIMEOUT_S * 1000)
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        db.dispose()
    assert (tmp_path / "nested" / "store.db").is_file()


def test_a_failed_write_transaction_is_rolled_back(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        with db.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
        with pytest.raises(RuntimeError), db.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))
            raise RuntimeError("boom")
        with db.read() as conn:
            assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 0
    finally:
        db.dispose()


def test_a_reader_does_not_wait_for_an_open_writer(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        with db.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
        with db.begin() as writer:
            writer.execute(text("INSERT INTO t VALUES (2)"))
            with db.read() as reader:  # WAL: sees the last commit, not the open write
                assert reader.execute(text("SELECT count(*) FROM t")).scalar() == 1
    finally:
        db.dispose()


@pytest.mark.parametrize("url", ["mysql://u@h/db", "oracle://u@h/db"])
def test_unsupported_engines_are_refused(url: str) -> None:
    with pytest.raises(InvalidInput, match="unsupported store"):
        Database(url)


def test_a_malformed_url_is_refused() -> None:
    with pytest.raises(InvalidInput, match="not a database URL"):
        Database("definitely not a url")


def test_an_unreachable_postgres_is_backend_unavailable_and_hides_the_password() -> None:
    with socket.socket() as sock:  # a free loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    db = Database(f"postgresql+psycopg://user:s3cret@127.0.0.1:{port}/nothing?connect_timeout=2")
    try:
        with pytest.raises(BackendUnavailable, match="cannot connect to the store") as caught, db.read():
            pass
        assert "s3cret" not in caught.value.message
    finally:
        db.dispose()
