"""The champion follows promotions: when a deployment's canary becomes its primary, ``@champion`` moves too.

``@champion`` is what the validation gate compares the next candidate against, so it must name the
model that answers requests. A promotion (by hand or by the SLO watcher) changes what answers; if the
old primary held ``@champion`` of its registered model, the alias moves to the promoted version (and
back on a rollback that restores it). If ``@champion`` pointed elsewhere, a team manages it by hand and
it is left alone.

Serving and the registry are separate contexts, so the rule lives here, above both. The move goes
through the registry's alias service with its permission check and audit record; an alias the
model's approval policy protects is not moved but gets an approval request (four eyes apply to
automated promotions too), which the result reports.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from modelyard.domain.serving import Deployment, DeploymentVariant
from modelyard.errors import ApprovalPending, NotFound
from modelyard.registry import AliasService
from modelyard.serving.deployments import DeploymentService

logger = logging.getLogger(__name__)

CHAMPION = "champion"


@dataclass(frozen=True, kw_only=True)
class ChampionMove:
    """What a promotion did to the alias: ``moved``, or ``pending`` approval request ``approval_request``."""

    model_name: str
    alias: str
    from_version: int
    to_version: int
    moved: bool
    approval_request: int | None = None

    def describe(self) -> str:
        target = f"{self.model_name}@{self.alias}: v{self.from_version} -> v{self.to_version}"
        if self.moved:
            return f"{target} moved"
        return f"{target} awaits approval #{self.approval_request}"


def follow_promotion(aliases: AliasService, promoted: Deployment, *, alias: str = CHAMPION) -> ChampionMove | None:
    """After a promotion: move ``alias`` from the previous primary to the promoted one (``follow_primary``)."""
    return follow_primary(aliases, promoted.previous_primary, promoted, alias=alias)


def follow_primary(
    aliases: AliasService, before: DeploymentVariant | None, deployment: Deployment, *, alias: str = CHAMPION
) -> ChampionMove | None:
    """Move ``alias`` to ``deployment``'s primary when it pointed at ``before``, the primary it replaced.

    ``None`` when there is nothing to follow: the primary did not change, another registered model
    took over, or the alias did not name the model that served.
    """
    after = deployment.primary
    if before is None or after is None or before.model_name != after.model_name or before.version == after.version:
        return None
    try:
        current = aliases.get_version(before.model_name, alias).version
    except NotFound:
        return None
    if current != before.version:
        return None
    reason = f"deployment {deployment.name!r} now serves v{after.version} (revision {deployment.revision})"
    move = ChampionMove(
        model_name=after.model_name, alias=alias, from_version=before.version, to_version=after.version, moved=True
    )
    try:
        aliases.set(after.model_name, alias, after.version, reason=reason)
    except ApprovalPending as pending:  # any other Conflict reaches the caller: the alias could not move
        move = replace(move, moved=False, approval_request=pending.details["approval_request"])
        logger.warning("%s", move.describe())
        return move
    logger.info("%s", move.describe())
    return move


def promote(
    deployments: DeploymentService, aliases: AliasService, name: str, variant: str | None = None
) -> tuple[Deployment, ChampionMove | None]:
    """Promote the canary of ``name``; ``@champion`` follows (``modelyard deployments promote``)."""
    deployment = deployments.promote(name, variant)
    return deployment, follow_promotion(aliases, deployment)


def rollback(
    deployments: DeploymentService, aliases: AliasService, name: str
) -> tuple[Deployment, ChampionMove | None]:
    """Roll ``name`` back; ``@champion`` follows the restored primary (``modelyard deployments rollback``)."""
    current = deployments.get(name)
    deployment = deployments.rollback(name, expected_revision=current.revision)
    return deployment, follow_primary(aliases, current.primary, deployment)
