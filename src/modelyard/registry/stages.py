"""Lifecycle stage transitions, in one function so approvals and roles apply in one place.

Rules: a version moves between None, Staging, Production and Archived freely, except that under
the default ``StagePolicy`` at most one version of a model is in Production. Moving a second one
there is ``Conflict`` unless ``archive_existing_versions`` is set, which archives the versions
already in the target stage in the same transaction (MLflow's flag, same meaning).

Governance: the actor needs the ``transition`` permission on the model. When the model's
approval policy covers the target stage, nothing moves: an approval request is recorded and
``ApprovalPending`` says "pending approval #id" (its ``details["approval_request"]`` holds the id),
after the checks the approval will make (preconditions, room in Production) pass now; an
approver's ``approve`` later applies it through ``apply_stage_request``, in the approving
transaction, under the same rules.
"""

from __future__ import annotations

from sqlalchemy import Connection

from modelyard.clock import SYSTEM_CLOCK, Clock
from modelyard.domain.governance import Actor, ApprovalKind, ApprovalRequest, Permission, Scope
from modelyard.domain.registry import ModelStage, ModelVersion, StagePolicy
from modelyard.errors import ApprovalPending, Conflict, InvalidInput
from modelyard.governance import ActorProvider, actor_provider, approval_needed, audit_append, guarded, open_request
from modelyard.governance import require as require_permission
from modelyard.registry import _validation as check
from modelyard.registry._lookup import lock_model, require_version
from modelyard.store.db import Database
from modelyard.store.repos import model_versions as version_rows

_ARCHIVABLE_FROM = (ModelStage.STAGING, ModelStage.PRODUCTION)


class StageService:
    """Moves versions between lifecycle stages under a ``StagePolicy`` and the approval policy."""

    def __init__(
        self,
        db: Database,
        clock: Clock = SYSTEM_CLOCK,
        policy: StagePolicy | None = None,
        *,
        actor: ActorProvider | str | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self.policy = policy or StagePolicy()
        self._actor = actor_provider(actor)

    def transition(
        self,
        name: str,
        version: int | str,
        stage: ModelStage | str,
        *,
        archive_existing_versions: bool = False,
        reason: str = "",
    ) -> ModelVersion:
        """Move ``version`` of ``name`` to ``stage``; the only code path that changes a stage.

        Raises ``ApprovalPending`` naming the approval request when the move needs approval first.
        """
        number = check.version_number(version)
        target = ModelStage.parse(stage)
        if archive_existing_versions and target not in _ARCHIVABLE_FROM:
            raise InvalidInput(f"archive_existing_versions only applies to Staging or Production, not {target.value}")
        actor = self._actor()
        now = self._clock.now_ms()
        with guarded(self._db, self._clock) as conn:
            lock_model(conn, name, now_ms=now)
            require_permission(conn, actor, Permission.TRANSITION, Scope.model(name), now_ms=now)
            current = require_version(conn, name, number)
            wanted = {"stage": target.value, "archive_existing_versions": archive_existing_versions}
            pending = None
            asked = {**wanted, "from": current.stage.value, "holds": list(current.aliases)}
            if current.stage is not target and approval_needed(conn, ApprovalKind.STAGE_TRANSITION, name, asked):
                self._check_room(conn, name, number, target, archive_existing_versions)  # as approval will
                pending = open_request(
                    conn, actor, kind=ApprovalKind.STAGE_TRANSITION, model_name=name, version=number,
                    target=wanted, reason=reason, now_ms=now,
                )  # fmt: skip
            else:
                moved = self._move(conn, actor, name, number, target, archive_existing_versions, now)
        if pending is not None:
            raise ApprovalPending(
                f"moving {name}/{number} to {target.value} needs approval: requested as pending approval "
                f"#{pending.id}; it happens when an approver runs `modelyard approvals approve {pending.id}`",
                approval_request=pending.id,
            )
        return moved

    def apply_stage_request(self, conn: Connection, request: ApprovalRequest, approver: Actor, now_ms: int) -> None:
        """The ``Applier`` for approved stage transitions (registered by whoever wires services)."""
        lock_model(conn, request.model_name, now_ms=now_ms)
        self._move(
            conn,
            approver,
            request.model_name,
            request.version,
            ModelStage.parse(str(request.target["stage"])),
            bool(request.target.get("archive_existing_versions", False)),
            now_ms,
            approval=request.id,
        )

    def _check_room(
        self, conn: Connection, name: str, number: int, target: ModelStage, archive_existing_versions: bool
    ) -> list[int]:
        """The other versions in ``target``; ``Conflict`` if the stage has no room for ``number``."""
        others = [
            v.version
            for v in version_rows.search(
                conn, version_rows.VersionFilter(names=[name], stages=[target]), max_results=1_000_000, offset=0
            )
            if v.version != number
        ]
        if (
            not archive_existing_versions
            and target is ModelStage.PRODUCTION
            and self.policy.exclusive_production
            and others
        ):
            listed = ", ".join(str(v) for v in others)
            raise Conflict(
                f"version {listed} of {name!r} is already in Production and only one may be; "
                "pass archive_existing_versions (CLI: --archive-existing) to archive it"
            )
        return others

    def _move(
        self,
        conn: Connection,
        actor: Actor,
        name: str,
        number: int,
        target: ModelStage,
        archive_existing_versions: bool,
        now: int,
        *,
        approval: int | None = None,
    ) -> ModelVersion:
        current = require_version(conn, name, number)
        others = self._check_room(conn, name, number, target, archive_existing_versions)
        if archive_existing_versions:
            version_rows.set_stage(conn, name, others, ModelStage.ARCHIVED, now_ms=now)
            for other in others:
                audit_append(
                    conn, actor, "model_version.stage_changed", "model_version", f"{name}/{other}",
                    {"from": target.value, "to": ModelStage.ARCHIVED.value, "archived_by": f"{name}/{number}"},
                    now_ms=now,
                )  # fmt: skip
        if current.stage is not target:
            version_rows.set_stage(conn, name, [number], target, now_ms=now)
            details: dict[str, object] = {"from": current.stage.value, "to": target.value}
            if approval is not None:
                details["approval"] = approval
            audit_append(
                conn, actor, "model_version.stage_changed", "model_version", f"{name}/{number}", details, now_ms=now
            )
        return require_version(conn, name, number)
