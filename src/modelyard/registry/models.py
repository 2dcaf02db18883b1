"""Registered models: create, describe, tag, search and delete named models.

Deleting a model removes its versions, tags and aliases (the lineage edges stay, as history); it
is refused while a version is in Production, so a served model cannot vanish by accident.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection

from modelyard.clock import SYSTEM_CLOCK, Clock
from modelyard.domain.governance import Permission, Scope
from modelyard.domain.registry import ModelStage, RegisteredModel
from modelyard.errors import Conflict, InvalidInput, NotFound
from modelyard.governance import ActorProvider, actor_provider, audit_append, guarded
from modelyard.governance import require as require_permission
from modelyard.registry import _validation as check
from modelyard.registry._guards import check_not_protected, check_not_served
from modelyard.registry._lookup import lock_model, require_model
from modelyard.registry.filters import model_filter
from modelyard.store.db import Database
from modelyard.store.repos import model_versions as version_rows
from modelyard.store.repos import registered_models as model_rows

MAX_RESULTS_LIMIT = 10_000


def check_page(max_results: int, offset: int) -> None:
    if not 1 <= max_results <= MAX_RESULTS_LIMIT:
        raise InvalidInput(f"max_results must be between 1 and {MAX_RESULTS_LIMIT}, got {max_results}")
    if offset < 0:
        raise InvalidInput(f"a search cannot start at a negative offset ({offset})")


class RegisteredModelService:
    """The named models of the registry."""

    def __init__(self, db: Database, clock: Clock = SYSTEM_CLOCK, *, actor: ActorProvider | str | None = None) -> None:
        self._db = db
        self._clock = clock
        self._actor = actor_provider(actor)

    def _write(self, conn: Connection, name: str, action: str, details: dict[str, Any]) -> None:
        """Check the actor may register on ``name`` and audit the change (same transaction)."""
        actor = self._actor()
        now = self._clock.now_ms()
        require_permission(conn, actor, Permission.REGISTER, Scope.model(name), now_ms=now)
        audit_append(conn, actor, action, "registered_model", name, details, now_ms=now)

    def create(
        self, name: str, *, description: str | None = None, tags: Mapping[str, Any] | None = None
    ) -> RegisteredModel:
        """Create an empty registered model; ``AlreadyExists`` if the name is taken."""
        name = check.model_name(name)
        text = check.description(description)
        labels = check.user_tags(tags)
        with guarded(self._db, self._clock) as conn:
            self._write(conn, name, "registered_model.created", {"description": text, "tags": labels})
            model_rows.insert(conn, name=name, description=text, now_ms=self._clock.now_ms())
            for key, value in labels.items():
                model_rows.set_tag(conn, name, key, value)
            return require_model(conn, name)

    def get(self, name: str) -> RegisteredModel:
        with self._db.read() as conn:
            return require_model(conn, name)

    def search(
        self, filter_string: str | None = None, *, max_results: int = 1000, offset: int = 0
    ) -> list[RegisteredModel]:
        """Models matching ``filter_string`` (see ``modelyard.registry.filters``), by name."""
        check_page(max_results, offset)
        where = model_filter(filter_string)
        with self._db.read() as conn:
            return model_rows.search(conn, where, max_results=max_results, offset=offset)

    def update(self, name: str, *, description: str) -> RegisteredModel:
        """Set the model's description."""
        text = check.description(description)
        with guarded(self._db, self._clock) as conn:
            lock_model(conn, name, now_ms=self._clock.now_ms())
            self._write(conn, name, "registered_model.updated", {"description": text})
            model_rows.set_description(conn, name, text, now_ms=self._clock.now_ms())
            return require_model(conn, name)

    def set_tag(self, name: str, key: str, value: Any) -> None:
        labels = check.user_tags({key: value})
        with guarded(self._db, self._clock) as conn:
            lock_model(conn, name, now_ms=self._clock.now_ms())
            self._write(conn, name, "registered_model.tag_set", {"tags": labels})
            for k, v in labels.items():
                model_rows.set_tag(conn, name, k, v)

    def delete_tag(self, name: str, key: str) -> None:
        check.reserved_key(key)
        with guarded(self._db, self._clock) as conn:
            lock_model(conn, name, now_ms=self._clock.now_ms())
            self._write(conn, name, "registered_model.tag_deleted", {"key": key})
            if not model_rows.delete_tag(conn, name, key):
                raise NotFound(f"registered model {name!r} has no tag {key!r}")

    def delete(self, name: str) -> None:
        """Delete the model and all its versions; refused while one is in Production."""
        with guarded(self._db, self._clock) as conn:
            lock_model(conn, name, now_ms=self._clock.now_ms())
            self._write(conn, name, "registered_model.deleted", {})
            serving = version_rows.search(
                conn,
                version_rows.VersionFilter(names=[name], stages=[ModelStage.PRODUCTION]),
                max_results=MAX_RESULTS_LIMIT,
                offset=0,
            )
            if serving:
                numbers = ", ".join(str(v.version) for v in serving)
                raise Conflict(
                    f"registered model {name!r} has version {numbers} in Production; "
                    "archive it before deleting the model"
                )
            every = version_rows.search(
                conn, version_rows.VersionFilter(names=[name]), max_results=MAX_RESULTS_LIMIT, offset=0
            )
            check_not_protected(conn, every)
            check_not_served(conn, name, [v.version for v in every])
            model_rows.delete(conn, name)
