"""Model versions: created from a logged model, numbered per name, described, tagged and deleted.

Numbers come from the registered model's counter, bumped in the transaction that inserts the
version, so concurrent registrations get distinct increasing numbers and a deleted number is
never handed out again. Each version records the lineage edge logged model -> model version in
the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection

from modelyard.clock import SYSTEM_CLOCK, Clock
from modelyard.domain.explain import EXPLANATION_TAG, FAIRNESS_TAG
from modelyard.domain.governance import GATE_BLESSED_TAG, GATE_VERDICT_TAG, Permission, Scope
from modelyard.domain.lineage import NodeKind, NodeRef, Relation
from modelyard.domain.registry import ModelStage, ModelVersion
from modelyard.errors import Conflict, InvalidInput, NotFound
from modelyard.governance import ActorProvider, actor_provider, audit_append, guarded
from modelyard.governance import require as require_permission
from modelyard.registry import _validation as check
from modelyard.registry._guards import check_not_protected, check_not_served
from modelyard.registry._lookup import lock_model, require_version
from modelyard.registry._sources import logged_model_for
from modelyard.registry.filters import version_filter
from modelyard.registry.logged_models import logged_model_ref
from modelyard.registry.models import check_page
from modelyard.store.db import Database
from modelyard.store.repos import lineage as lineage_rows
from modelyard.store.repos import model_versions as version_rows
from modelyard.store.repos import registered_models as model_rows


def version_ref(name: str, version: int) -> NodeRef:
    """The lineage node of a model version: ``<name>/<version>``."""
    return NodeRef(kind=NodeKind.MODEL_VERSION, id=f"{name}/{version}")


ASSESSMENT_TAGS = frozenset({EXPLANATION_TAG, FAIRNESS_TAG})  # written by record_assessment only


class ModelVersionService:
    """Versions of registered models."""

    def __init__(self, db: Database, clock: Clock = SYSTEM_CLOCK, *, actor: ActorProvider | str | None = None) -> None:
        self._db = db
        self._clock = clock
        self._actor = actor_provider(actor)

    def _write(self, conn: Connection, name: str, action: str, version: int, details: dict[str, Any], now: int) -> None:
        """Check the actor may register on ``name`` and audit the change (same transaction)."""
        actor = self._actor()
        require_permission(conn, actor, Permission.REGISTER, Scope.model(name), now_ms=now)
        audit_append(conn, actor, action, "model_version", f"{name}/{version}", details, now_ms=now)

    def create(
        self,
        name: str,
        source: str,
        *,
        description: str | None = None,
        tags: Mapping[str, Any] | None = None,
        create_model: bool = False,
    ) -> ModelVersion:
        """Register the logged model ``source`` (``runs:/…`` or ``models:/…``) as the next version of ``name``.

        With ``create_model`` (MLflow's ``register_model``) a missing registered model is created;
        without it (``create_model_version``) that is ``NotFound``.
        """
        name = check.model_name(name)
        text = check.description(description)
        labels = check.user_tags(tags)
        now = self._clock.now_ms()
        with guarded(self._db, self._clock) as conn:
            require_permission(conn, self._actor(), Permission.REGISTER, Scope.model(name), now_ms=now)
            logged = logged_model_for(conn, source)
            if create_model:
                model_rows.ensure(conn, name=name, now_ms=now)
            lock_model(conn, name, now_ms=now)
            number = model_rows.allocate_version(conn, name)
            version_rows.insert(
                conn, name=name, version=number, model_id=logged.model_id, source=source, description=text, now_ms=now
            )
            version_rows.set_tags(conn, name, number, labels)
            lineage_rows.add(
                conn,
                logged_model_ref(logged.model_id),
                version_ref(name, number),
                Relation.REGISTERED,
                now_ms=now,
                properties={"source": source, "digest": logged.digest},
            )
            self._write(conn, name, "model_version.created", number, {"source": source, "digest": logged.digest}, now)
            return require_version(conn, name, number)

    def get(self, name: str, version: int | str) -> ModelVersion:
        number = check.version_number(version)
        with self._db.read() as conn:
            return require_version(conn, name, number)

    def search(
        self, filter_string: str | None = None, *, max_results: int = 1000, offset: int = 0
    ) -> list[ModelVersion]:
        """Versions matching ``filter_string`` (see ``modelyard.registry.filters``), newest first per name."""
        check_page(max_results, offset)
        where, versions = version_filter(filter_string)
        with self._db.read() as conn:
            return version_rows.search(conn, where, max_results=max_results, offset=offset, versions=versions)

    def list(self, name: str) -> list[ModelVersion]:
        """Every version of ``name``, newest first; ``NotFound`` for an unknown model."""
        with self._db.read() as conn:
            if model_rows.get(conn, name) is None:
                raise NotFound(f"no registered model named {name!r}")
            return version_rows.search(conn, version_rows.VersionFilter(names=[name]), max_results=1_000_000, offset=0)

    def update(self, name: str, version: int | str, *, description: str) -> ModelVersion:
        number = check.version_number(version)
        text = check.description(description)
        now = self._clock.now_ms()
        with guarded(self._db, self._clock) as conn:
            lock_model(conn, name, now_ms=now)
            require_version(conn, name, number)
            self._write(conn, name, "model_version.updated", number, {"description": text}, now)
            version_rows.set_description(conn, name, number, text, now_ms=now)
            return require_version(conn, name, number)

    def set_tag(self, name: str, version: int | str, key: str, value: Any) -> None:
        number = check.version_number(version)
        labels = check.user_tags({key: value})
        now = self._clock.now_ms()
        with guarded(self._db, self._clock) as conn:
            lock_model(conn, name, now_ms=now)
            require_version(conn, name, number)
            self._write(conn, name, "model_version.tag_set", number, {"tags": labels}, now)
            version_rows.set_tags(conn, name, number, labels)

    def delete_tag(self, name: str, version: int | str, key: str) -> None:
        number = check.version_number(version)
        check.reserved_key(key)
        now = self._clock.now_ms()
        with guarded(self._db, self._clock) as conn:
            lock_model(conn, name, now_ms=now)
            require_version(conn, name, number)
            self._write(conn, name, "model_version.tag_deleted", number, {"key": key}, now)
            if not version_rows.delete_tag(conn, name, number, key):
                raise NotFound(f"version {number} of {name!r} has no tag {key!r}")

    def record_gate_verdict(self, name: str, version: int | str, *, blessed: bool, verdict_uri: str) -> None:
        """Write the validation gate's verdict tags (``modelyard.gate.blessed`` and ``.verdict``).

        The only writer of those reserved tags, called by the pipeline's gate step; audited as
        ``model_version.gate_recorded`` with who ran it and where the full verdict is.
        """
        number = check.version_number(version)
        if not isinstance(blessed, bool):
            raise InvalidInput(f"blessed must be True or False, got {blessed!r}")
        labels = check.tags({GATE_BLESSED_TAG: "true" if blessed else "false", GATE_VERDICT_TAG: verdict_uri})
        now = self._clock.now_ms()
        with guarded(self._db, self._clock) as conn:
            lock_model(conn, name, now_ms=now)
            require_version(conn, name, number)
            self._write(conn, name, "model_version.gate_recorded", number, {"tags": labels}, now)
            version_rows.set_tags(conn, name, number, labels)

    def record_assessment(self, name: str, version: int | str, key: str, value: str) -> None:
        """Write an explanation or fairness summary (``modelyard.explain.summary``,
        ``modelyard.fairness.summary``): reserved tags, so only the explain and gate steps call
        this, never a plain ``set_tag``; audited as ``model_version.assessment_recorded``."""
        if key not in ASSESSMENT_TAGS:
            raise InvalidInput(f"{key!r} is not an assessment tag; use one of {', '.join(sorted(ASSESSMENT_TAGS))}")
        number = check.version_number(version)
        labels = check.tags({key: value})
        now = self._clock.now_ms()
        with guarded(self._db, self._clock) as conn:
            lock_model(conn, name, now_ms=now)
            require_version(conn, name, number)
            self._write(conn, name, "model_version.assessment_recorded", number, {"tag": key}, now)
            version_rows.set_tags(conn, name, number, labels)

    def delete(self, name: str, version: int | str) -> None:
        """Delete a version (its aliases go with it).

        Refused while it is in Production, while a deployment serves it (the next server start
        could not load it), and while it holds a stage or alias the approval policy protects:
        deleting it would remove ``@champion`` without the approval moving it needs.
        """
        number = check.version_number(version)
        now = self._clock.now_ms()
        with guarded(self._db, self._clock) as conn:
            lock_model(conn, name, now_ms=now)
            found = require_version(conn, name, number)
            self._write(conn, name, "model_version.deleted", number, {}, now)
            if found.stage is ModelStage.PRODUCTION:
                raise Conflict(f"version {number} of {name!r} is in Production; archive it before deleting it")
            check_not_protected(conn, [found])
            check_not_served(conn, name, [number])
            version_rows.delete(conn, name, number)
