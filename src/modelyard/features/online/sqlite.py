"""The embedded online store: one SQLite file (WAL), two tables, newer-wins upserts."""

from __future__ import annotations

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
    """Online features in a SQLite file; one connection shared under a lock (reads are sub-ms)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30.0)
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._conn.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise BackendUnavailable(f"cannot open the online store {self.path}: {exc}") from exc
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SqliteOnlineStore({str(self.path)!r})"

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def write_latest(self, view: str, rows: Sequence[tuple[str, int, dict[str, Any]]]) -> None:
        if not rows:
            return
        with self._write() as conn:
            conn.executemany(_UPSERT, [(view, key, int(ts), encode_values(vals)) for key, ts, vals in rows])

    def read_latest(self, view: str, keys: Sequence[str]) -> list[Latest | None]:
        found: dict[str, Latest] = {}
        unique = list(dict.fromkeys(keys))
        with self._lock:
            for start in range(0, len(unique), _CHUNK):
                chunk = unique[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                cursor = self._conn.execute(
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
        with self._lock:
            for start in range(0, len(unique), _CHUNK):
                chunk = unique[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                cursor = self._conn.execute(
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
        with self._lock:
            self._conn.close()
