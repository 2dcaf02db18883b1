"""The deployments service: the rules for what may be deployed and how traffic may change.

Every operation runs in one transaction that locks the deployment, checks the rules on the state
it would leave, writes the new state with ``revision + 1``, records a ``DeploymentEvent`` (actor,
before, after) and adds a lineage edge model version -> deployment for each variant, so the store
never holds a change without its history. Rules:

- a deployment has exactly one ``primary`` plus any number of ``canary`` variants (weights 0-100,
  summing to at most 100; the primary takes the rest), or an A/B split of two or more ``ab``
  variants (weights above 0 summing to 100); ``shadow`` variants may join either;
- every variant is a registered model version that exists; an alias (``models:/m@champion``) is
  resolved now and pinned to its number, so moving the alias later changes nothing served;
- ``promote`` makes a canary the primary and remembers the old primary; ``rollback`` returns to
  the last primary that served everything in one step: it drops running canaries, or, with none,
  restores the remembered primary;
- callers that decided on a given state (the SLO watcher) pass ``expected_revision`` and get
  ``Conflict`` if someone changed the deployment meanwhile;
- every change needs the ``deploy`` permission on the deployment and appends an audit event in
  the same transaction (governance), whoever makes it: a person, the CLI or the canary watcher;
- under a model policy that protects deployments, a change that makes a version start serving
  (primary, or canary/A-B with traffic) needs that version to hold a protected stage or alias, or
  an approval to serve it there: otherwise nothing changes, an approval request is recorded and
  ``ApprovalPending`` names it; once approved, the same change goes through.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection

from modelyard.clock import SYSTEM_CLOCK, Clock
from modelyard.domain.governance import Actor, ApprovalKind, Permission, Scope
from modelyard.domain.lineage import NodeKind, NodeRef, Relation
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
    VariantSpec,
    explain_sample_rate,
)
from modelyard.errors import ApprovalPending, Conflict, InvalidInput, NotFound
from modelyard.governance import (
    ActorProvider,
    actor_provider,
    audit_append,
    guarded,
    open_request,
    require,
    serving_approval_needed,
)
from modelyard.serving.variant_rules import check_deployment_name, check_variants, name_variants, variant_weight
from modelyard.store.db import Database
from modelyard.store.repos import deployments as rows
from modelyard.store.repos import lineage as lineage_rows
from modelyard.store.repos import model_versions as version_rows
from modelyard.store.repos import registered_models as model_rows
from modelyard.uris import parse_model_uri


class DeploymentService:
    """Deploy, change traffic, promote, roll back and undeploy named deployments."""

    def __init__(self, db: Database, *, actor: ActorProvider | str, clock: Clock = SYSTEM_CLOCK) -> None:
        self._db = db
        self._actor = actor_provider(actor)  # the server's provider reads the request's user
        self._clock = clock

    # -- reading ----------------------------------------------------------------------------------

    def get(self, name: str) -> Deployment:
        with self._db.read() as conn:
            found = rows.get(conn, name)
        if found is None:
            raise NotFound(f"no deployment named {name!r}", deployment=name)
        return found

    def list(self, names: Sequence[str] | None = None) -> list[Deployment]:
        """Every deployment (or those of ``names``; ``NotFound`` naming any that does not exist)."""
        with self._db.read() as conn:
            found = rows.list_all(conn, names)
        if names is not None:
            missing = sorted(set(names) - {d.name for d in found})
            if missing:
                raise NotFound(f"no deployment named {', '.join(map(repr, missing))}", deployments=missing)
        return found

    def revisions(self, names: Sequence[str] | None = None) -> dict[str, int]:
        """``{name: revision}`` of existing deployments: one cheap read for servers to poll."""
        with self._db.read() as conn:
            return rows.revisions(conn, names)

    def history(self, name: str, *, limit: int | None = None) -> builtins.list[DeploymentEvent]:
        """The deployment's events, oldest first; kept after an undeploy."""
        with self._db.read() as conn:
            found = rows.events(conn, name, limit=limit)
        if not found:
            raise NotFound(f"deployment {name!r} has no history: it was never deployed", deployment=name)
        return found

    # -- changing ---------------------------------------------------------------------------------

    def deploy(
        self,
        name: str,
        variants: Sequence[VariantSpec],
        *,
        sticky: StickySpec | None = None,
        slo: CanarySLO | None = None,
        batching: BatchingSpec | None = None,
        features: FeatureLookup | None = None,
        explain_sample: float | None = None,
        actor: str | None = None,
        details: EventDetails | None = None,
    ) -> Deployment:
        """Create ``name`` with ``variants``, or replace an existing deployment's variants.

        Replacing keeps the deployment's history; if the primary's version changes, the old one
        becomes what ``rollback`` returns to. ``details`` (why, e.g. the pipeline run that asked)
        go into the event and the audit record. ``batching`` left ``None`` keeps the deployment's
        current micro-batching (an operating setting, not part of the model change): a pipeline
        adding a canary does not turn it off; ``set_batching(name, None)`` does. ``features`` (the
        feature store lookup enriching requests) is kept the same way; ``set_features`` changes it,
        and so is ``explain_sample`` (``set_explain_sample``).
        """
        check_deployment_name(name)
        rate = None if explain_sample is None else explain_sample_rate(explain_sample)
        if not variants:
            raise InvalidInput(f"deployment {name!r}: give at least one variant (a primary model URI)")
        with guarded(self._db, self._clock) as conn:
            self._require(conn, name, actor)
            pinned = name_variants([_pin(conn, spec) for spec in variants])
            current = rows.get(conn, name, for_update=True)
            now = self._clock.now_ms()
            previous = None if current is None else current.previous_primary
            if current is not None and current.primary is not None:
                new_primary = next((v for v in pinned if v.mode is VariantMode.PRIMARY), None)
                if new_primary is None or new_primary.model_version != current.primary.model_version:
                    previous = current.primary
            after = Deployment(
                name=name,
                variants=tuple(pinned),
                revision=1 if current is None else current.revision + 1,
                created_at=now if current is None else current.created_at,
                updated_at=now,
                created_by=(actor or self._actor().name) if current is None else current.created_by,
                sticky=sticky,
                slo=slo,
                previous_primary=previous,
                batching=batching if batching is not None or current is None else current.batching,
                features=features if features is not None or current is None else current.features,
                explain_sample=rate if rate is not None else (0.0 if current is None else current.explain_sample),
            )
            pending = self._approvals_needed(conn, current, after, actor)
            if not pending:
                return self._write(conn, current, after, EventKind.DEPLOYED, actor, details or EventDetails())
        raise _pending(name, pending)

    def set_traffic(
        self,
        name: str,
        weights: Mapping[str, float],
        *,
        actor: str | None = None,
        expected_revision: int | None = None,
    ) -> Deployment:
        """Set the weights of canary or A/B variants by variant name (the primary takes the rest)."""
        if not weights:
            raise InvalidInput("set-traffic needs at least one variant=weight")

        def change(current: Deployment) -> Deployment:
            unknown = sorted(set(weights) - {v.name for v in current.variants})
            if unknown:
                names = [v.name for v in current.variants]
                raise InvalidInput(f"deployment {name!r} has no variant {', '.join(unknown)} (it has {names})")
            variants = []
            for v in current.variants:
                if v.name in weights:
                    if v.mode not in (VariantMode.CANARY, VariantMode.AB):
                        raise InvalidInput(
                            f"variant {v.name!r} of {name!r} is a {v.mode.value}: only canary and A/B weights "
                            "are set (the primary takes what canaries leave)"
                        )
                    v = replace(v, weight=variant_weight(v.name, weights[v.name]))
                variants.append(v)
            return replace(current, variants=tuple(variants))

        return self._change(name, change, EventKind.TRAFFIC, actor, EventDetails(), expected_revision)

    def set_batching(
        self,
        name: str,
        batching: BatchingSpec | None,
        *,
        actor: str | None = None,
        expected_revision: int | None = None,
    ) -> Deployment:
        """Turn micro-batching on (or change it) with ``batching``, or off with ``None``.

        Servers pick the change up at their next reload, like a traffic change.
        """
        if batching is not None and not isinstance(batching, BatchingSpec):
            raise InvalidInput(f"batching must be a BatchingSpec or None, got {type(batching).__name__}")
        return self._set(name, EventKind.BATCHING, actor, expected_revision, batching=batching)

    def set_features(
        self,
        name: str,
        features: FeatureLookup | None,
        *,
        actor: str | None = None,
        expected_revision: int | None = None,
    ) -> Deployment:
        """Enrich requests from the feature store with ``features``, or stop with ``None``.

        Servers pick the change up at their next reload; a server refuses to load a plan whose
        features are not registered.
        """
        if features is not None and not isinstance(features, FeatureLookup):
            raise InvalidInput(f"features must be a FeatureLookup or None, got {type(features).__name__}")
        return self._set(name, EventKind.FEATURES, actor, expected_revision, features=features)

    def set_explain_sample(
        self,
        name: str,
        rate: float,
        *,
        actor: str | None = None,
        expected_revision: int | None = None,
    ) -> Deployment:
        """Log the SHAP attributions of a ``rate`` share (0-1) of answered requests; 0 stops.

        Servers pick the change up at their next reload. The attributions are computed by the
        inference log's writer, off the response path (``serving.attribution_log``).
        """
        value = explain_sample_rate(rate)
        return self._set(name, EventKind.EXPLAIN_SAMPLE, actor, expected_revision, explain_sample=value)

    def _set(
        self, name: str, kind: EventKind, actor: str | None, expected_revision: int | None, **fields: Any
    ) -> Deployment:
        """A setting of the deployment changed (batching, features, explain sample): one event of ``kind``."""
        return self._change(
            name, lambda current: replace(current, **fields), kind, actor, EventDetails(), expected_revision
        )

    def promote(
        self,
        name: str,
        variant: str | None = None,
        *,
        actor: str | None = None,
        expected_revision: int | None = None,
        details: EventDetails | None = None,
        automatic: bool = False,
    ) -> Deployment:
        """Make the canary (``variant``, needed when there are several) the primary.

        The new primary keeps the old primary's variant name, so dashboards keyed by variant keep
        their series; the old primary is remembered for ``rollback``.
        """

        def change(current: Deployment) -> Deployment:
            canary = _pick_canary(current, variant)
            primary = current.primary
            assert primary is not None  # a deployment with canaries has a primary
            promoted = replace(canary, name=primary.name, mode=VariantMode.PRIMARY, weight=0.0)
            variants = tuple(promoted if v.name == primary.name else v for v in current.variants if v is not canary)
            return replace(current, variants=variants, previous_primary=primary)

        kind = EventKind.AUTO_PROMOTED if automatic else EventKind.PROMOTED
        return self._change(name, change, kind, actor, details or EventDetails(), expected_revision)

    def rollback(
        self,
        name: str,
        *,
        actor: str | None = None,
        expected_revision: int | None = None,
        details: EventDetails | None = None,
        automatic: bool = False,
    ) -> Deployment:
        """Back to the last primary that served all traffic: drop the canaries, or restore the old primary."""

        def change(current: Deployment) -> Deployment:
            primary = current.primary
            if primary is None:
                raise Conflict(f"deployment {name!r} is an A/B split: it has no primary to roll back to")
            if current.canaries:
                return replace(current, variants=tuple(v for v in current.variants if v.mode is not VariantMode.CANARY))
            if current.previous_primary is None:
                raise Conflict(f"deployment {name!r} has no canary and no previous primary to roll back to")
            restored = replace(current.previous_primary, name=primary.name, mode=VariantMode.PRIMARY, weight=0.0)
            variants = tuple(restored if v.name == primary.name else v for v in current.variants)
            return replace(current, variants=variants, previous_primary=None)

        kind = EventKind.AUTO_ROLLED_BACK if automatic else EventKind.ROLLED_BACK
        return self._change(name, change, kind, actor, details or EventDetails(), expected_revision)

    def undeploy(self, name: str, *, actor: str | None = None) -> None:
        """Remove the deployment (servers stop answering for it at their next reload); history stays."""
        with guarded(self._db, self._clock) as conn:
            who = self._require(conn, name, actor)
            current = rows.get(conn, name, for_update=True)
            if current is None:
                raise NotFound(f"no deployment named {name!r}", deployment=name)
            rows.delete(conn, name)
            audit_append(
                conn, who, "deployment.undeployed", "deployment", name, {"revision": current.revision + 1},
                now_ms=self._clock.now_ms(),
            )  # fmt: skip
            rows.add_event(
                conn,
                deployment=name,
                kind=EventKind.UNDEPLOYED,
                actor=actor or self._actor().name,
                time_ms=self._clock.now_ms(),
                revision=current.revision + 1,
                before=current.summary(),
                after=None,
            )

    # -- internals --------------------------------------------------------------------------------

    def _actor_of(self, actor: str | None) -> Actor:
        return actor_provider(actor)() if actor else self._actor()

    def _require(self, conn: Connection, name: str, actor: str | None) -> Actor:
        who = self._actor_of(actor)
        require(conn, who, Permission.DEPLOY, Scope.deployment(name), now_ms=self._clock.now_ms())
        return who

    def _change(
        self,
        name: str,
        change: Callable[[Deployment], Deployment],
        kind: EventKind,
        actor: str | None,
        details: EventDetails,
        expected_revision: int | None,
    ) -> Deployment:
        with guarded(self._db, self._clock) as conn:
            self._require(conn, name, actor)
            current = rows.get(conn, name, for_update=True)
            if current is None:
                raise NotFound(f"no deployment named {name!r}", deployment=name)
            if expected_revision is not None and current.revision != expected_revision:
                raise Conflict(
                    f"deployment {name!r} changed meanwhile: it is at revision {current.revision}, "
                    f"not {expected_revision}",
                    deployment=name,
                )
            after = change(current)
            after = replace(after, revision=current.revision + 1, updated_at=self._clock.now_ms())
            pending = self._approvals_needed(conn, current, after, actor)
            if not pending:
                return self._write(conn, current, after, kind, actor, details)
        raise _pending(name, pending)

    def _approvals_needed(
        self, conn: Connection, before: Deployment | None, after: Deployment, actor: str | None
    ) -> builtins.list[tuple[str, int]]:
        """Record an approval request for each version ``after`` starts serving that its model's
        policy does not yet allow (see ``serving_approval_needed``); ``[(version label, request id)]``."""
        opened = []
        for v in sorted(_serving(after) - (_serving(before) if before is not None else set())):
            name, _, number = v.rpartition("/")
            if serving_approval_needed(conn, name, int(number), after.name):
                request = open_request(
                    conn, self._actor_of(actor), kind=ApprovalKind.DEPLOYMENT_PROMOTE, model_name=name,
                    version=int(number), target={"deployment": after.name},
                    reason=f"serve {v} in deployment {after.name!r}", now_ms=self._clock.now_ms(),
                )  # fmt: skip
                opened.append((v, request.id))
        return opened

    def _write(
        self,
        conn: Connection,
        before: Deployment | None,
        after: Deployment,
        kind: EventKind,
        actor: str | None,
        details: EventDetails,
    ) -> Deployment:
        check_variants(after.name, after.variants)
        rows.save(conn, after, is_new=before is None)
        rows.add_event(
            conn,
            deployment=after.name,
            kind=kind,
            actor=actor or self._actor().name,
            time_ms=after.updated_at,
            revision=after.revision,
            before=None if before is None else before.summary(),
            after=after.summary(),
            details=details,
        )
        audit_append(
            conn,
            self._actor_of(actor),
            f"deployment.{kind.value}",
            "deployment",
            after.name,
            {"revision": after.revision, "traffic": after.summary(), **details.to_dict()},
            now_ms=after.updated_at,
        )
        target = NodeRef(kind=NodeKind.DEPLOYMENT, id=after.name)
        for v in after.variants:
            lineage_rows.add(
                conn,
                NodeRef(kind=NodeKind.MODEL_VERSION, id=v.model_version),
                target,
                Relation.DEPLOYED,
                now_ms=after.updated_at,
                properties={"variant": v.name, "mode": v.mode.value},
            )
        return after


def _serving(deployment: Deployment) -> set[str]:
    """The versions that answer requests: the primary and canary or A/B variants with traffic."""
    return {
        v.model_version
        for v in deployment.variants
        if v.mode is VariantMode.PRIMARY or (v.mode in (VariantMode.CANARY, VariantMode.AB) and v.weight > 0)
    }


def _pending(name: str, pending: Sequence[tuple[str, int]]) -> ApprovalPending:
    asked = ", ".join(f"{version} as #{request}" for version, request in pending)
    first = pending[0][1]
    return ApprovalPending(
        f"deployment {name!r} would serve versions its model's policy protects: approval requested ({asked}); "
        f"once an approver runs `modelyard approvals approve {first}`, run the same command again",
        approval_request=first,
        approval_requests=[r for _, r in pending],
    )


def _pin(conn: Connection, spec: VariantSpec) -> DeploymentVariant:
    """Resolve the spec's model URI to an existing version number (aliases are read now, once)."""
    if not isinstance(spec.uri, str) or not spec.uri.startswith("models:/"):
        raise InvalidInput(f"deploy a registered model version (models:/<name>/<version> or @alias), got {spec.uri!r}")
    uri = parse_model_uri(spec.uri)
    if uri.path:
        raise InvalidInput(f"{spec.uri!r}: a deployment serves a whole model version, not the file {uri.path!r}")
    number = uri.version
    if number is None:
        assert uri.alias is not None
        number = model_rows.alias_version(conn, uri.name, uri.alias)
        if number is None:
            if model_rows.get(conn, uri.name) is None:
                raise NotFound(f"no registered model named {uri.name!r}")
            raise NotFound(f"registered model {uri.name!r} has no alias {uri.alias!r}")
    if version_rows.get(conn, uri.name, number) is None:
        if model_rows.get(conn, uri.name) is None:
            raise NotFound(f"no registered model named {uri.name!r}")
        raise NotFound(f"registered model {uri.name!r} has no version {number}")
    mode = VariantMode(spec.mode)
    return DeploymentVariant(
        name=spec.name or "",
        model_name=uri.name,
        version=number,
        mode=mode,
        weight=variant_weight(spec.name or mode.value, spec.weight),
        sample=spec.sample,
    )


def _pick_canary(current: Deployment, variant: str | None) -> DeploymentVariant:
    canaries = current.canaries
    if variant is not None:
        found = current.variant(variant)
        if found is None or found.mode is not VariantMode.CANARY:
            raise InvalidInput(
                f"deployment {current.name!r} has no canary named {variant!r} (canaries: {[c.name for c in canaries]})"
            )
        return found
    if not canaries:
        raise Conflict(f"deployment {current.name!r} has no canary to promote")
    if len(canaries) > 1:
        raise InvalidInput(
            f"deployment {current.name!r} has several canaries {[c.name for c in canaries]}: name the one to promote"
        )
    return canaries[0]
