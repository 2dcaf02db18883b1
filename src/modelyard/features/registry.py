"""The feature registry: applying definitions (with a plan first), and reading them back.

Rules kept here:
- ``plan`` compares the given definitions with the registered ones: each is added, changed
  (listing the spec fields that differ) or unchanged; with ``prune``, registered definitions
  missing from the given set are removed (as ``terraform apply`` and ``feast apply`` do);
- ``apply`` writes one new version per added or changed definition and a ``removed`` version per
  removal, in one transaction with an audit event, after checking that views name known
  entities (among what will be registered afterwards). Applying the same module twice writes
  nothing;
- each new version of a feature view records lineage from its source (a dataset version, or a
  ``feature_source`` node for files, SQL and push sources).
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection

from modelyard.clock import SYSTEM_CLOCK, Clock
from modelyard.data import DatasetService
from modelyard.domain.features import (
    ApplyPlan,
    ChangeKind,
    Definition,
    DefinitionChange,
    DefinitionKind,
    Entity,
    FeatureView,
    OnDemandFeatureView,
    PushSource,
    RegisteredDefinition,
    Source,
)
from modelyard.domain.governance import Permission
from modelyard.domain.lineage import NodeKind, NodeRef, Relation
from modelyard.errors import InvalidInput, NotFound
from modelyard.features.definitions import check_consistent, spec_digest
from modelyard.features.sources import source_node
from modelyard.governance import ActorProvider, actor_provider, audit_append, guarded, require
from modelyard.store.db import Database
from modelyard.store.repos import features as rows
from modelyard.store.repos import lineage as lineage_rows


@dataclass(frozen=True)
class Catalog:
    """The registered definitions at one moment, by name: what retrieval resolves against."""

    entities: dict[str, Entity]
    views: dict[str, FeatureView]
    on_demand: dict[str, OnDemandFeatureView]
    versions: dict[str, int]  # feature view name -> registered version

    def view(self, name: str) -> FeatureView:
        try:
            return self.views[name]
        except KeyError:
            known = ", ".join(sorted(self.views)) or "none"
            raise NotFound(f"no feature view named {name!r} (registered: {known})", view=name) from None

    def entity_of(self, view: FeatureView) -> Entity:
        return self.entities[view.entity]


class FeatureRegistry:
    """Versioned feature definitions in the metadata store."""

    def __init__(
        self,
        db: Database,
        *,
        datasets: DatasetService | None = None,
        clock: Clock = SYSTEM_CLOCK,
        actor: ActorProvider | str | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._actor = actor_provider(actor)
        self._datasets = datasets

    def catalog(self) -> Catalog:
        with self._db.read() as conn:
            current = rows.current(conn)
        entities: dict[str, Entity] = {}
        views: dict[str, FeatureView] = {}
        on_demand: dict[str, OnDemandFeatureView] = {}
        versions: dict[str, int] = {}
        for record in current:
            d = record.definition
            if isinstance(d, Entity):
                entities[d.name] = d
            elif isinstance(d, FeatureView):
                views[d.name] = d
                versions[d.name] = record.version
            else:
                on_demand[d.name] = d
        return Catalog(entities=entities, views=views, on_demand=on_demand, versions=versions)

    def list(self, kind: DefinitionKind | None = None) -> builtins.list[RegisteredDefinition]:
        """The current version of every registered definition (of ``kind``)."""
        with self._db.read() as conn:
            return rows.current(conn, kind)

    def get(self, name: str, kind: DefinitionKind | None = None) -> RegisteredDefinition:
        """The current version of the definition ``name`` (of any kind, when unique)."""
        found = [r for r in self.list(kind) if r.name == name]
        if not found:
            raise NotFound(f"no feature definition named {name!r}", name=name)
        if len(found) > 1:
            kinds = ", ".join(r.kind.value for r in found)
            raise InvalidInput(f"{name!r} names several definitions ({kinds}); give the kind")
        return found[0]

    def history(self, name: str, kind: DefinitionKind) -> builtins.list[RegisteredDefinition]:
        with self._db.read() as conn:
            found = rows.history(conn, kind, name)
        if not found:
            raise NotFound(f"no {kind.value.replace('_', ' ')} named {name!r}", name=name)
        return found

    def plan(self, definitions: Sequence[Definition], *, prune: bool = True) -> ApplyPlan:
        """What ``apply`` would change, without changing anything."""
        check_consistent(definitions)
        with self._db.read() as conn:
            return _plan(rows.current(conn), definitions, prune)

    def apply(self, definitions: Sequence[Definition], *, prune: bool = True) -> ApplyPlan:
        """Register ``definitions``: the plan, carried out in one transaction, is returned."""
        check_consistent(definitions)
        now = self._clock.now_ms()
        actor = self._actor()
        with guarded(self._db, self._clock) as conn:
            require(conn, actor, Permission.TRACK, now_ms=now)
            current = rows.current(conn)
            plan = _plan(current, definitions, prune)
            remaining = {(r.kind, r.name): r.definition for r in current}
            for change in plan.changes:
                if change.change is ChangeKind.REMOVED:
                    remaining.pop((change.kind, change.name), None)
            by_key = {(d.kind, d.name): d for d in definitions}
            check_consistent(list({**remaining, **by_key}.values()))
            for change in plan.changes:
                if change.change is ChangeKind.UNCHANGED:
                    continue
                version = rows.latest_version(conn, change.kind, change.name) + 1
                spec = change.after if change.after is not None else change.before or {}
                record = RegisteredDefinition(
                    kind=change.kind,
                    name=change.name,
                    version=version,
                    digest=spec_digest(spec),
                    spec=spec,
                    created_at=now,
                    created_by=actor.name,
                    removed=change.change is ChangeKind.REMOVED,
                )
                rows.add(conn, record)
                definition = by_key.get((change.kind, change.name))
                if isinstance(definition, FeatureView) and not record.removed:
                    self._record_source(conn, definition, record, now)
            if not plan.is_empty:
                summary = {k.value: [c.name for c in plan.of(k)] for k in ChangeKind if k is not ChangeKind.UNCHANGED}
                audit_append(conn, actor, "features.applied", "feature_registry", "features", summary, now_ms=now)
        return plan

    def _record_source(self, conn: Connection, view: FeatureView, record: RegisteredDefinition, now: int) -> None:
        target = NodeRef(kind=NodeKind.FEATURE_VIEW, id=record.node_id)
        sources: list[Source] = [view.source]
        if isinstance(view.source, PushSource) and view.source.batch_source is not None:
            sources.append(view.source.batch_source)  # the pushed rows' history: the raw data too
        for source in sources:
            lineage_rows.add(conn, source_node(source, self._datasets), target, Relation.SOURCE, now_ms=now)

    # -- materialization watermarks -------------------------------------------------------------

    def watermark(self, view: str) -> int | None:
        with self._db.read() as conn:
            return rows.watermark(conn, view)

    def set_watermark(self, view: str, watermark_ms: int) -> None:
        with self._db.begin() as conn:
            rows.set_watermark(conn, view, watermark_ms, now_ms=self._clock.now_ms())


def _plan(current: Iterable[RegisteredDefinition], definitions: Sequence[Definition], prune: bool) -> ApplyPlan:
    stored = {(r.kind, r.name): r for r in current}
    changes: list[DefinitionChange] = []
    given: set[tuple[DefinitionKind, str]] = set()
    for d in definitions:
        key = (d.kind, d.name)
        if key in given:
            continue
        given.add(key)
        spec = d.to_spec()
        before = stored.get(key)
        if before is None:
            changes.append(DefinitionChange(kind=d.kind, name=d.name, change=ChangeKind.ADDED, after=spec))
        elif before.digest != spec_digest(spec):
            differ = tuple(sorted(k for k in {*spec, *before.spec} if spec.get(k) != before.spec.get(k)))
            changes.append(
                DefinitionChange(
                    kind=d.kind, name=d.name, change=ChangeKind.CHANGED, fields=differ, before=before.spec, after=spec
                )
            )
        else:
            changes.append(
                DefinitionChange(kind=d.kind, name=d.name, change=ChangeKind.UNCHANGED, before=spec, after=spec)
            )
    if prune:
        for key, record in sorted(stored.items()):
            if key not in given:
                changes.append(
                    DefinitionChange(kind=record.kind, name=record.name, change=ChangeKind.REMOVED, before=record.spec)
                )
    return ApplyPlan(changes=tuple(changes))
