"""The embedded online store: one SQLite file (WAL), two tables, newer-wins upserts."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from modelyard.errors import BackendUnavailable
from modelyard.features.online.base import Event, Latest, decode_values, encode_values

_SCHEMA = """
CREATE TABLE IF NOT EXISTS latest (
    view TEXT NOT NULL, key TEXT NOT NULL, ts INTEGER NOT NULL, vals TEXT NOT NULL,
    PRIMARY KEY (view, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    view TEXT NOT NULL, key TEXT NOT NULL, event_id TEXT NOT NULL, ts INTEGER NOT NULL, vals TEXT NOT NULL,
    PRIMARY KEY (view, key, event_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ix_events_time ON events (view, key, ts);
"""
_UPSERT = (
    "INSERT INTO latest (view, key, ts, vals) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (view, key) DO UPDATE SET ts = excluded.ts, vals = excluded.vals WHERE excluded.ts >= latest.ts"
)
_CHUNK = 500  # keys per IN (...) query, well under SQLite's variable limit


class SqliteOnlineStore:
    """Online features in a SQLite file; one connection shared under a lock (reads are sub-ms).

    A forked process (``serve --workers N`` forks after the plan, and so this store, is built)
    opens a connection of its own on first use: a SQLite connection must not cross a fork.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BackendUnavailable(f"cannot open the online store {self.path}: {exc}") from exc
        self._pid = os.getpid()
        self._conn = self._open()
        self._lock = threading.Lock()

    def _open(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30.0)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise BackendUnavailable(f"cannot open the online store {self.path}: {exc}") from exc
        return conn

    @contextmanager
    def _locked(self) -> Iterator[sqlite3.Connection]:
        """The connection of this process, held for the caller alone."""
        if self._pid != os.getpid():  # a forked child: the parent's connection and lock are not ours
            self._pid = os.getpid()
            self._lock = threading.Lock()
            self._conn = self._open()
        with self._lock:
            yield self._conn

    def __repr__(self) -> str:
        return f"SqliteOnlineStore({str(self.path)!r})"

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._locked() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def write_latest(self, view: str, rows: Sequence[tuple[str, int, dict[str, Any]]]) -> None:
        if not rows:
            return
        with self._write() as conn:
            conn.executemany(_UPSERT, [(view, key, int(ts), encode_values(vals)) for key, ts, vals in rows])

    def read_latest(self, view: str, keys: Sequence[str]) -> list[Latest | None]:
        found: dict[str, Latest] = {}
        unique = list(dict.fromkeys(keys))
        with self._locked() as conn:
            for start in range(0, len(unique), _CHUNK):
                chunk = unique[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                cursor = conn.execute(
                    f"SELECT key, ts, vals FROM latest WHERE view = ? AND key IN ({marks})", [view, *chunk]
                )
                for key, ts, vals in cursor:
                    found[key] = Latest(ts_ms=int(ts), values=decode_values(vals))
        return [found.get(k) for k in keys]

    def add_events(self, view: str, events: Sequence[Event]) -> None:
        if not events:
            return
        with self._write() as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO events (view, key, event_id, ts, vals) VALUES (?, ?, ?, ?, ?)",
                [(view, e.key, e.event_id, int(e.ts_ms), encode_values(e.values)) for e in events],
            )

    def read_events(self, view: str, keys: Sequence[str], after_ms: int, until_ms: int) -> list[list[Event]]:
        found: dict[str, list[Event]] = {}
        unique = list(dict.fromkeys(keys))
        with self._locked() as conn:
            for start in range(0, len(unique), _CHUNK):
                chunk = unique[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                cursor = conn.execute(
                    f"SELECT key, event_id, ts, vals FROM events WHERE view = ? AND key IN ({marks}) "
                    "AND ts > ? AND ts <= ? ORDER BY ts",
                    [view, *chunk, int(after_ms), int(until_ms)],
                )
                for key, event_id, ts, vals in cursor:
                    found.setdefault(key, []).append(
                        Event(key=key, event_id=event_id, ts_ms=int(ts), values=decode_values(vals))
                    )
        return [found.get(k, []) for k in keys]

    def prune_events(self, view: str, before_ms: int) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM events WHERE view = ? AND ts < ?", (view, int(before_ms)))

    def clear(self, view: str) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM latest WHERE view = ?", (view,))
            conn.execute("DELETE FROM events WHERE view = ?", (view,))

    def close(self) -> None:
        with self._locked() as conn:
            conn.close()
