"""Aliases: mutable names (``champion``, ``challenger``, any other) pointing at one version each.

Setting an alias that exists moves it in one statement, so a reader resolving
``models:/name@champion`` sees the old version or the new one, never neither.

Governance: pointing or removing an alias needs the ``transition`` permission on the model; an
alias the model's approval policy protects (``champion`` by default, once a policy exists) is
only moved through an approved request, like a Production transition.
"""

from __future__ import annotations

from sqlalchemy import Connection

from modelyard.clock import SYSTEM_CLOCK, Clock
from modelyard.domain.governance import Actor, ApprovalKind, ApprovalRequest, Permission, Scope
from modelyard.domain.registry import ModelVersion
from modelyard.errors import ApprovalPending, Conflict, NotFound
from modelyard.governance import ActorProvider, actor_provider, approval_needed, audit_append, guarded, open_request
from modelyard.governance import require as require_permission
from modelyard.registry import _validation as check
from modelyard.registry._lookup import lock_model, require_version
from modelyard.registry._sources import version_for
from modelyard.store.db import Database
from modelyard.store.repos import registered_models as model_rows
from modelyard.uris import ModelUri


class AliasService:
    """Point, move, remove and resolve aliases."""

    def __init__(self, db: Database, clock: Clock = SYSTEM_CLOCK, *, actor: ActorProvider | str | None = None) -> None:
        self._db = db
        self._clock = clock
        self._actor = actor_provider(actor)

    def set(self, name: str, alias: str, version: int | str, *, reason: str = "") -> ModelVersion:
        """Point ``alias`` at ``version`` (moving it off any other version); returns that version.

        Raises ``ApprovalPending`` naming the approval request when the alias is protected.
        """
        alias = check.alias_name(alias)
        number = check.version_number(version)
        actor = self._actor()
        now = self._clock.now_ms()
        with guarded(self._db, self._clock) as conn:
            lock_model(conn, name, now_ms=now)
            require_permission(conn, actor, Permission.TRANSITION, Scope.model(name), now_ms=now)
            require_version(conn, name, number)
            pending = None
            if model_rows.alias_version(conn, name, alias) != number and approval_needed(
                conn, ApprovalKind.PROTECTED_ALIAS, name, {"alias": alias}
            ):
                pending = open_request(
                    conn, actor, kind=ApprovalKind.PROTECTED_ALIAS, model_name=name, version=number,
                    target={"alias": alias}, reason=reason, now_ms=now,
                )  # fmt: skip
            else:
                _point(conn, actor, name, alias, number, now)
                result = require_version(conn, name, number)
        if pending is not None:
            raise ApprovalPending(
                f"alias @{alias} of {name!r} is protected: moving it to version {number} is requested as pending "
                f"approval #{pending.id}; it happens when an approver runs `modelyard approvals approve {pending.id}`",
                approval_request=pending.id,
            )
        return result

    def apply_alias_request(self, conn: Connection, request: ApprovalRequest, approver: Actor, now_ms: int) -> None:
        """The ``Applier`` for approved protected-alias moves."""
        lock_model(conn, request.model_name, now_ms=now_ms)
        require_version(conn, request.model_name, request.version)
        _point(conn, approver, request.model_name, str(request.target["alias"]), request.version, now_ms, request.id)

    def delete(self, name: str, alias: str) -> None:
        actor = self._actor()
        now = self._clock.now_ms()
        with guarded(self._db, self._clock) as conn:
            lock_model(conn, name, now_ms=now)
            require_permission(conn, actor, Permission.TRANSITION, Scope.model(name), now_ms=now)
            if approval_needed(conn, ApprovalKind.PROTECTED_ALIAS, name, {"alias": alias}):
                raise Conflict(f"alias @{alias} of {name!r} is protected by the approval policy and cannot be removed")
            if not model_rows.delete_alias(conn, name, alias):
                raise NotFound(f"registered model {name!r} has no alias {alias!r}")
            audit_append(conn, actor, "alias.deleted", "registered_model", name, {"alias": alias}, now_ms=now)

    def get_version(self, name: str, alias: str) -> ModelVersion:
        """The version ``models:/<name>@<alias>`` names."""
        with self._db.read() as conn:
            return version_for(conn, ModelUri(name=name, alias=alias))


def _point(
    conn: Connection, actor: Actor, name: str, alias: str, number: int, now: int, approval: int | None = None
) -> None:
    before = model_rows.alias_version(conn, name, alias)
    model_rows.set_alias(conn, name, alias, number)
    details: dict[str, object] = {"alias": alias, "version": number, "previous": before}
    if approval is not None:
        details["approval"] = approval
    audit_append(conn, actor, "alias.set", "registered_model", name, details, now_ms=now)
