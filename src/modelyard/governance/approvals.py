"""Four-eyes approvals: a protected change becomes a request; other people approve or reject it.

The registry (or the deployment service) asks ``approval_needed`` inside its own transaction; when
a policy covers the change it calls ``open_request`` instead of applying it. ``ApprovalService``
then takes decisions: the approver must hold ``approve`` on the model and must not be the
requester; the policy's preconditions are checked at approval time; when the policy's number of
approvals is reached, the change is applied by the ``Applier`` registered for the request's kind,
in the same transaction that records the last approval. Governance sits below the registry, so
the appliers are handed in by whoever wires the services (the SDK backend, the CLI), never
imported from here.

Without a policy on a model nothing needs approval (opt in per model with ``set_policy``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, column, func, inspect, select, table

from modelyard.clock import SYSTEM_CLOCK, Clock
from modelyard.domain.governance import (
    CARD_FIELDS,
    GATE_BLESSED_TAG,
    Actor,
    ApprovalDecision,
    ApprovalKind,
    ApprovalPolicy,
    ApprovalRequest,
    ApprovalStatus,
    Permission,
    Scope,
)
from modelyard.domain.registry import ModelStage
from modelyard.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from modelyard.governance.access import guarded, require
from modelyard.governance.actors import ActorProvider, actor_provider
from modelyard.governance.audit import append
from modelyard.store.db import Database
from modelyard.store.repos import approvals as approval_rows
from modelyard.store.repos import deployments as deployment_rows
from modelyard.store.repos import model_versions as version_rows

_ALIAS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,255}$")

Applier = Callable[[Connection, ApprovalRequest, Actor, int], None]
"""Applies an approved request inside the approving transaction: (conn, request, approver, now_ms)."""


def approval_needed(
    conn: Connection, kind: ApprovalKind, model_name: str, target: Mapping[str, Any]
) -> ApprovalPolicy | None:
    """The policy that makes this change need approval, or ``None`` if it may happen at once.

    A stage transition needs approval when it enters a protected stage, leaves one (``from``:
    archiving the Production model removes it as surely as replacing it), or archives a version
    that holds a protected alias (``holds``: the version's aliases).
    """
    policy = approval_rows.get_policy(conn, model_name)
    if policy is None:
        return None
    if kind is ApprovalKind.STAGE_TRANSITION:
        stage, leaving = str(target.get("stage")), str(target.get("from", ""))
        if stage in policy.stages or leaving in policy.stages:
            return policy
        holds = [str(a) for a in target.get("holds", ())]
        if stage == ModelStage.ARCHIVED.value and any(a in policy.protected_aliases for a in holds):
            return policy
    if kind is ApprovalKind.PROTECTED_ALIAS and str(target.get("alias")) in policy.protected_aliases:
        return policy
    if kind is ApprovalKind.DEPLOYMENT_PROMOTE and policy.protect_deployments:
        return policy
    return None


def serving_approval_needed(conn: Connection, model_name: str, version: int, deployment: str) -> bool:
    """Whether starting to serve ``model_name``/``version`` in ``deployment`` needs an approval first.

    Under a policy that protects deployments, a version may serve when it holds a protected stage
    or alias (those moves were approved already) or when an approval to serve it in this
    deployment was granted (a ``deployment_promote`` request, applied).
    """
    policy = approval_rows.get_policy(conn, model_name)
    if policy is None or not policy.protect_deployments:
        return False
    found = version_rows.get(conn, model_name, version)
    if found is not None and (protected_holdings(conn, model_name, found.stage.value, found.aliases)):
        return False
    granted = approval_rows.list_requests(conn, status=ApprovalStatus.APPLIED, model_name=model_name)
    return not any(
        r.kind is ApprovalKind.DEPLOYMENT_PROMOTE and r.version == version and r.target.get("deployment") == deployment
        for r in granted
    )


def grant_only(conn: Connection, request: ApprovalRequest, approver: Actor, now_ms: int) -> None:
    """The ``Applier`` of approvals that grant rather than change (serving a version): nothing to
    do but record it, which ``approve`` does; the caller then repeats the change it asked for."""


def protected_holdings(conn: Connection, model_name: str, stage: str, aliases: Sequence[str]) -> list[str]:
    """What a version holds that the model's approval policy protects (``stage Production``, ``@champion``).

    The registry refuses to delete such a version: deleting it would remove a protected stage or
    alias without the approval that moving them needs.
    """
    policy = approval_rows.get_policy(conn, model_name)
    if policy is None:
        return []
    held = [f"stage {stage}"] if stage in policy.stages else []
    return held + [f"@{a}" for a in aliases if a in policy.protected_aliases]


def open_request(
    conn: Connection,
    actor: Actor,
    *,
    kind: ApprovalKind,
    model_name: str,
    version: int,
    target: dict[str, Any],
    reason: str,
    now_ms: int,
) -> ApprovalRequest:
    """Record a pending request (the caller has checked the requester's ``transition`` permission).

    A request the approval could not apply is refused now rather than left to be stuck: when the
    version lacks a precondition of the policy, ``Conflict`` names what is missing and how to add
    it (approval checks again, since a version can lose a blessing or an alert can open meanwhile).
    """
    policy = approval_rows.get_policy(conn, model_name) or ApprovalPolicy(model_name=model_name)
    missing = missing_preconditions(conn, policy, model_name, version)
    if missing:
        raise Conflict(
            f"{model_name}/{version} cannot be put up for approval yet: the policy of {model_name!r} requires "
            + "; ".join(missing),
            missing=missing,
        )
    request_id = approval_rows.insert_request(
        conn,
        kind=kind,
        model_name=model_name,
        version=version,
        target=target,
        requested_by=actor.name,
        reason=reason,
        now_ms=now_ms,
    )
    append(
        conn, actor, "approval.requested", "approval", str(request_id),
        {"kind": kind.value, "model": f"{model_name}/{version}", "target": target, "reason": reason},
        now_ms=now_ms,
    )  # fmt: skip
    found = approval_rows.get_request(conn, request_id)
    assert found is not None
    return found


def missing_preconditions(conn: Connection, policy: ApprovalPolicy, name: str, version: int) -> list[str]:
    """What the policy requires that this version lacks, one readable phrase each."""
    missing: list[str] = []
    found = version_rows.get(conn, name, version)
    if found is None:
        return [f"version {version} of {name!r} no longer exists"]
    if policy.require_gate_blessing and found.tags.get(GATE_BLESSED_TAG, "").lower() != "true":
        missing.append(
            f"a gate blessing (tag {GATE_BLESSED_TAG}=true) on {name}/{version}: run a pipeline whose gate step "
            "blesses it"
        )
    if policy.require_model_card:
        filled = approval_rows.card_fields(conn, name, version)
        empty = [f for f in CARD_FIELDS if not filled.get(f, "").strip()]
        if empty:
            sets = " ".join(f"--set {f}=..." for f in empty)
            missing.append(
                f"a complete model card (empty: {', '.join(empty)}): `modelyard models card {name}/{version} {sets}`"
            )
    if policy.require_no_open_alert:
        open_alerts = _open_alerts(conn, name)
        if open_alerts:
            missing.append(f"no open drift alert ({open_alerts} open): resolve them with `modelyard alerts resolve`")
    return missing


def _open_alerts(conn: Connection, name: str) -> int:
    """Alerts not yet resolved on the deployments serving ``name`` (0 without monitoring tables).

    The monitoring tables are read as plain tables: governance sits below monitoring and must not
    import it. An acknowledged alert is still unresolved, so it still blocks.
    """
    inspector = inspect(conn)
    if not inspector.has_table("alerts"):
        return 0
    columns = {c["name"] for c in inspector.get_columns("alerts")}
    if "status" not in columns:
        return 0
    alerts = table("alerts", *[column(c) for c in sorted(columns)])
    query = select(func.count()).select_from(alerts).where(alerts.c.status.in_(["open", "acknowledged"]))
    if "deployment" in columns and inspector.has_table("deployments"):
        serving = [d.name for d in deployment_rows.list_all(conn) if any(v.model_name == name for v in d.variants)]
        query = query.where(alerts.c.deployment.in_(serving))
    return int(conn.execute(query).scalar_one())


class ApprovalService:
    """List, approve and reject requests; set per-model approval policies."""

    def __init__(
        self,
        db: Database,
        actor: ActorProvider | str | None = None,
        clock: Clock = SYSTEM_CLOCK,
        appliers: Mapping[ApprovalKind, Applier] | None = None,
    ) -> None:
        self._db = db
        self._actor = actor_provider(actor)
        self._clock = clock
        self._appliers = dict(appliers or {})

    def list(
        self, *, status: ApprovalStatus | str | None = None, model_name: str | None = None
    ) -> list[ApprovalRequest]:
        wanted = None if status is None else _status(status)
        with guarded(self._db, self._clock) as conn:
            require(conn, self._actor(), Permission.READ, now_ms=self._clock.now_ms())
            return approval_rows.list_requests(conn, status=wanted, model_name=model_name)

    def get(self, request_id: int) -> ApprovalRequest:
        with guarded(self._db, self._clock) as conn:
            require(conn, self._actor(), Permission.READ, now_ms=self._clock.now_ms())
            return _require_request(conn, request_id)

    def approve(self, request_id: int, comment: str = "") -> ApprovalRequest:
        """Approve; applies the change when the policy's count of approvals is reached."""
        actor = self._actor()
        now = self._clock.now_ms()
        with guarded(self._db, self._clock) as conn:
            request = _require_request(conn, request_id, for_update=True)
            require(conn, actor, Permission.APPROVE, Scope.model(request.model_name), now_ms=now)
            _require_pending(request)
            if request.requested_by == actor.name:
                raise PermissionDenied(
                    f"{actor.name!r} requested approval #{request_id} and cannot approve it: "
                    "another approver must (four-eyes rule)",
                    actor=actor.name,
                    permission=Permission.APPROVE.value,
                    scope=str(Scope.model(request.model_name)),
                    audit_denial=True,
                )
            if any(d.approver == actor.name for d in request.decisions):
                raise Conflict(f"{actor.name!r} has already decided on approval #{request_id}")
            policy = approval_rows.get_policy(conn, request.model_name) or ApprovalPolicy(model_name=request.model_name)
            missing = missing_preconditions(conn, policy, request.model_name, request.version)
            if missing:
                raise Conflict(
                    f"approval #{request_id} cannot be approved: missing precondition(s): " + "; ".join(missing),
                    missing=missing,
                )
            approval_rows.add_decision(
                conn, request_id, ApprovalDecision(approver=actor.name, approved=True, comment=comment, time_ms=now)
            )
            append(conn, actor, "approval.approved", "approval", str(request_id), {"comment": comment}, now_ms=now)
            approvals = 1 + sum(1 for d in request.decisions if d.approved)
            if approvals >= policy.required_approvers:
                self._apply(conn, request, actor, now)
            return _require_request(conn, request_id)

    def reject(self, request_id: int, comment: str = "") -> ApprovalRequest:
        """Reject: the request is closed and nothing changes. The requester may withdraw this way."""
        actor = self._actor()
        now = self._clock.now_ms()
        with guarded(self._db, self._clock) as conn:
            request = _require_request(conn, request_id, for_update=True)
            if request.requested_by != actor.name:
                require(conn, actor, Permission.APPROVE, Scope.model(request.model_name), now_ms=now)
            _require_pending(request)
            approval_rows.add_decision(
                conn, request_id, ApprovalDecision(approver=actor.name, approved=False, comment=comment, time_ms=now)
            )
            approval_rows.set_status(conn, request_id, ApprovalStatus.REJECTED, now_ms=now)
            append(conn, actor, "approval.rejected", "approval", str(request_id), {"comment": comment}, now_ms=now)
            return _require_request(conn, request_id)

    def set_policy(self, policy: ApprovalPolicy) -> ApprovalPolicy:
        """Set the model's approval policy; admin (on the model or globally) only.

        Stage names are checked and spelled canonically (``production`` -> ``Production``) and alias
        names must be valid aliases: a misspelt name would protect nothing while looking like it did.
        """
        if policy.required_approvers < 1:
            raise InvalidInput(f"required_approvers must be at least 1, got {policy.required_approvers}")
        policy = replace(
            policy,
            stages=tuple(dict.fromkeys(ModelStage.parse(s).value for s in policy.stages)),
            protected_aliases=tuple(dict.fromkeys(_policy_alias(a) for a in policy.protected_aliases)),
        )
        actor = self._actor()
        now = self._clock.now_ms()
        with guarded(self._db, self._clock) as conn:
            require(conn, actor, Permission.MANAGE, Scope.model(policy.model_name), now_ms=now)
            approval_rows.put_policy(conn, policy)
            details = {k: list(v) if isinstance(v, tuple) else v for k, v in vars(policy).items()}
            append(conn, actor, "policy.set", "registered_model", policy.model_name, details, now_ms=now)
            return policy

    def get_policy(self, model_name: str) -> ApprovalPolicy | None:
        with self._db.read() as conn:
            return approval_rows.get_policy(conn, model_name)

    def _apply(self, conn: Connection, request: ApprovalRequest, actor: Actor, now: int) -> None:
        applier = self._appliers.get(request.kind)
        if applier is None:
            raise Conflict(
                f"approval #{request.id} is approved but this process cannot apply a {request.kind.value}; "
                "approve it through the modelyard CLI or SDK"
            )
        approval_rows.set_status(conn, request.id, ApprovalStatus.APPROVED, now_ms=now)
        applier(conn, request, actor, now)
        approval_rows.set_status(conn, request.id, ApprovalStatus.APPLIED, now_ms=now)
        append(
            conn, actor, "approval.applied", "approval", str(request.id),
            {"kind": request.kind.value, "model": request.object_id, "target": request.target},
            now_ms=now,
        )  # fmt: skip


def _policy_alias(alias: str) -> str:
    """An alias a policy may protect: one ``models:/<name>@<alias>`` can name (not all digits)."""
    if not isinstance(alias, str) or not _ALIAS.fullmatch(alias) or alias.isdigit():
        raise InvalidInput(
            f"alias {alias!r} cannot be protected: an alias is letters, digits, '_', '.', '-' (not all digits), "
            "starting with a letter or digit, e.g. champion"
        )
    return alias


def _status(value: ApprovalStatus | str) -> ApprovalStatus:
    try:
        return ApprovalStatus(value)
    except ValueError:
        names = ", ".join(s.value for s in ApprovalStatus)
        raise InvalidInput(f"unknown approval status {value!r}; use one of {names}") from None


def _require_request(conn: Connection, request_id: int, *, for_update: bool = False) -> ApprovalRequest:
    found = approval_rows.get_request(conn, request_id, for_update=for_update)
    if found is None:
        raise NotFound(f"no approval request #{request_id}")
    return found


def _require_pending(request: ApprovalRequest) -> None:
    if request.status is not ApprovalStatus.PENDING:
        raise Conflict(f"approval #{request.id} is {request.status.value}, not pending")
