"""Aliases: mutable names (``champion``, ``challenger``, any other) pointing at one version each.

Setting an alias that exists moves it in one statement, so a reader resolving
``models:/name@champion`` sees the old version or the new one, never neither.
"""

from __future__ import annotations

from modelyard.clock import SYSTEM_CLOCK, Clock
from modelyard.domain.registry import ModelVersion
from modelyard.errors import NotFound
from modelyard.registry import _validation as check
from modelyard.registry._lookup import lock_model, require_version
from modelyard.registry._sources import version_for
from modelyard.store.db import Database
from modelyard.store.repos import registered_models as model_rows
from modelyard.uris import ModelUri


class AliasService:
    """Point, move, remove and resolve aliases."""

    def __init__(self, db: Database, clock: Clock = SYSTEM_CLOCK) -> None:
        self._db = db
        self._clock = clock

    def set(self, name: str, alias: str, version: int | str) -> ModelVersion:
        """Point ``alias`` at ``version`` (moving it off any other version); returns that version."""
        alias = check.alias_name(alias)
        number = check.version_number(version)
        with self._db.begin() as conn:
            lock_model(conn, name, now_ms=self._clock.now_ms())
            require_version(conn, name, number)
            model_rows.set_alias(conn, name, alias, number)
            return require_version(conn, name, number)

    def delete(self, name: str, alias: str) -> None:
        with self._db.begin() as conn:
            lock_model(conn, name, now_ms=self._clock.now_ms())
            if not model_rows.delete_alias(conn, name, alias):
                raise NotFound(f"registered model {name!r} has no alias {alias!r}")

    def get_version(self, name: str, alias: str) -> ModelVersion:
        """The version ``models:/<name>@<alias>`` names."""
        with self._db.read() as conn:
            return version_for(conn, ModelUri(name=name, alias=alias))
