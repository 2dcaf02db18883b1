"""The ids an import already brought over, per kind, read once and written as each item lands.

An item's mapping is written after the item is complete, so a second import skips it and an
interrupted one resumes with the first item it had not finished.
"""

from __future__ import annotations

from modelyard.clock import SYSTEM_CLOCK, Clock
from modelyard.store.db import Database
from modelyard.store.repos import import_mappings as rows


class IdMap:
    """Source id -> modelyard id for one source store."""

    def __init__(self, db: Database, source: str, clock: Clock = SYSTEM_CLOCK) -> None:
        self._db = db
        self._source = source
        self._clock = clock
        self._cache: dict[str, dict[str, str]] = {}

    def _kind(self, kind: str) -> dict[str, str]:
        if kind not in self._cache:
            with self._db.read() as conn:
                self._cache[kind] = rows.get_all(conn, self._source, kind)
        return self._cache[kind]

    def get(self, kind: str, source_id: str) -> str | None:
        return self._kind(kind).get(source_id)

    def put(self, kind: str, source_id: str, target_id: str) -> None:
        with self._db.begin() as conn:
            rows.put(conn, self._source, kind, source_id, target_id, now_ms=self._clock.now_ms())
        self._kind(kind)[source_id] = target_id
