"""Deployments with their variants, and their append-only event history.

``lock`` bumps nothing but takes the deployment's row for the transaction (``SELECT … FOR UPDATE``
on PostgreSQL; SQLite write transactions are already exclusive), so two changes of one deployment
queue instead of both reading revision N and writing N+1.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, select, update

from modelyard.domain.serving import (
    BatchingSpec,
    CanarySLO,
    Deployment,
    DeploymentEvent,
    DeploymentVariant,
    EventDetails,
    EventKind,
    FeatureLookup,
    StickySpec,
    VariantMode,
)
from modelyard.store.tables.serving import deployment_events, deployment_variants, deployments


def get(conn: Connection, name: str, *, for_update: bool = False) -> Deployment | None:
    """The deployment ``name``; with ``for_update`` its row stays locked until the transaction ends."""
    stmt = select(deployments).where(deployments.c.name == name)
    if for_update and conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).first()
    return None if row is None else _assemble(conn, [row])[0]


def list_all(conn: Connection, names: Sequence[str] | None = None) -> list[Deployment]:
    """Deployments by name (all of them, or those in ``names`` that exist)."""
    stmt = select(deployments).order_by(deployments.c.name)
    if names is not None:
        stmt = stmt.where(deployments.c.name.in_(list(names)))
    return _assemble(conn, conn.execute(stmt).all())


def revisions(conn: Connection, names: Sequence[str] | None = None) -> dict[str, int]:
    """``{name: revision}``: the cheap read a server polls to learn whether to reload."""
    stmt = select(deployments.c.name, deployments.c.revision)
    if names is not None:
        stmt = stmt.where(deployments.c.name.in_(list(names)))
    return {r.name: int(r.revision) for r in conn.execute(stmt)}


def save(conn: Connection, deployment: Deployment, *, is_new: bool) -> None:
    """Write ``deployment`` (row and full variant list) as given; the caller bumped the revision."""
    values = {
        "revision": deployment.revision,
        "sticky_source": None if deployment.sticky is None else deployment.sticky.source,
        "sticky_name": None if deployment.sticky is None else deployment.sticky.name,
        "slo": None if deployment.slo is None else json.dumps(deployment.slo.to_dict()),
        "previous_primary": None
        if deployment.previous_primary is None
        else json.dumps(deployment.previous_primary.to_dict()),
        "batching": None if deployment.batching is None else json.dumps(deployment.batching.to_dict()),
        "features": None if deployment.features is None else json.dumps(deployment.features.to_dict()),
        "explain_sample": deployment.explain_sample or None,
        "updated_at": deployment.updated_at,
    }
    if is_new:
        conn.execute(
            deployments.insert().values(
                name=deployment.name, created_at=deployment.created_at, created_by=deployment.created_by, **values
            )
        )
    else:
        conn.execute(update(deployments).where(deployments.c.name == deployment.name).values(**values))
        conn.execute(deployment_variants.delete().where(deployment_variants.c.deployment == deployment.name))
    if deployment.variants:
        conn.execute(
            deployment_variants.insert(),
            [
                {
                    "deployment": deployment.name,
                    "name": v.name,
                    "position": i,
                    "model_name": v.model_name,
                    "version": v.version,
                    "mode": v.mode.value,
                    "weight": v.weight,
                    "sample": v.sample,
                }
                for i, v in enumerate(deployment.variants)
            ],
        )


def delete(conn: Connection, name: str) -> None:
    conn.execute(deployment_variants.delete().where(deployment_variants.c.deployment == name))
    conn.execute(deployments.delete().where(deployments.c.name == name))


def add_event(
    conn: Connection,
    *,
    deployment: str,
    kind: EventKind,
    actor: str,
    time_ms: int,
    revision: int,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    details: EventDetails | None = None,
) -> None:
    conn.execute(
        deployment_events.insert().values(
            deployment=deployment,
            kind=kind.value,
            actor=actor,
            time_ms=time_ms,
            revision=revision,
            before=None if before is None else json.dumps(before, sort_keys=True),
            after=None if after is None else json.dumps(after, sort_keys=True),
            details=json.dumps((details or EventDetails()).to_dict(), sort_keys=True),
        )
    )


def events(conn: Connection, deployment: str, *, limit: int | None = None) -> list[DeploymentEvent]:
    """The deployment's events, oldest first (the newest ``limit`` of them when given)."""
    stmt = select(deployment_events).where(deployment_events.c.deployment == deployment)
    stmt = stmt.order_by(deployment_events.c.id.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = list(conn.execute(stmt))
    rows.reverse()
    return [
        DeploymentEvent(
            id=int(r.id),
            deployment=r.deployment,
            kind=EventKind(r.kind),
            actor=r.actor,
            time_ms=r.time_ms,
            revision=r.revision,
            before=None if r.before is None else json.loads(r.before),
            after=None if r.after is None else json.loads(r.after),
            details=EventDetails.from_dict(json.loads(r.details)),
        )
        for r in rows
    ]


def _assemble(conn: Connection, rows: Sequence[Row]) -> list[Deployment]:  # type: ignore[type-arg]
    if not rows:
        return []
    names = [r.name for r in rows]
    variants: dict[str, list[DeploymentVariant]] = {}
    stmt = (
        select(deployment_variants)
        .where(deployment_variants.c.deployment.in_(names))
        .order_by(deployment_variants.c.deployment, deployment_variants.c.position)
    )
    for v in conn.execute(stmt):
        variants.setdefault(v.deployment, []).append(
            DeploymentVariant(
                name=v.name,
                model_name=v.model_name,
                version=int(v.version),
                mode=VariantMode(v.mode),
                weight=float(v.weight),
                sample=float(v.sample),
            )
        )
    return [
        Deployment(
            name=r.name,
            variants=tuple(variants.get(r.name, [])),
            revision=int(r.revision),
            created_at=r.created_at,
            updated_at=r.updated_at,
            created_by=r.created_by,
            sticky=None if r.sticky_source is None else StickySpec(source=r.sticky_source, name=r.sticky_name),
            slo=None if r.slo is None else CanarySLO(**json.loads(r.slo)),
            previous_primary=None
            if r.previous_primary is None
            else DeploymentVariant.from_dict(json.loads(r.previous_primary)),
            batching=None if r.batching is None else BatchingSpec.from_dict(json.loads(r.batching)),
            features=None if r.features is None else FeatureLookup.from_dict(json.loads(r.features)),
            explain_sample=float(r.explain_sample or 0.0),
        )
        for r in rows
    ]
