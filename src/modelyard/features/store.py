"""The feature store: one definition of each feature for training and for serving.

``FeatureStore`` is the service every interface calls (SDK ``my.features``, the CLI, the pipeline
step, the serving enricher). It joins the registry (definitions in the metadata store), the
offline store (sources read by DuckDB), the online store (SQLite or Redis) and data versioning:
a training set asked for with ``log_as`` becomes a dataset version with lineage from each feature
view version, which has lineage from its source, so a model's lineage reaches the raw data.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from modelyard.clock import SYSTEM_CLOCK, Clock
from modelyard.data import DatasetService
from modelyard.domain.data import DatasetRole
from modelyard.domain.features import ApplyPlan, Definition, DefinitionKind, RegisteredDefinition
from modelyard.domain.governance import Permission
from modelyard.domain.lineage import NodeKind, NodeRef, Relation
from modelyard.errors import InvalidInput
from modelyard.features import definitions as defs
from modelyard.features import offline
from modelyard.features.lookup import OnlineResult, entity_rows, online_features
from modelyard.features.materialize import MaterializeResult, materialize_view
from modelyard.features.online.base import OnlineStore
from modelyard.features.push import PushMode, push_rows
from modelyard.features.refs import Resolved, resolve
from modelyard.features.registry import Catalog, FeatureRegistry
from modelyard.features.sources import SourceReader
from modelyard.features.times import TimeLike, to_ms
from modelyard.governance import ActorProvider, actor_provider, guarded, require
from modelyard.store.db import Database
from modelyard.store.repos import lineage as lineage_rows


class FeatureStore:
    """Definitions, point-in-time training data, materialization, online reads and pushes."""

    def __init__(
        self,
        db: Database,
        datasets: DatasetService,
        online: OnlineStore,
        *,
        push_root: str,
        clock: Clock = SYSTEM_CLOCK,
        actor: ActorProvider | str | None = None,
    ) -> None:
        self._db = db
        self._datasets = datasets
        self.online = online
        self._clock = clock
        self._actor = actor_provider(actor)
        self.registry = FeatureRegistry(db, datasets=datasets, clock=clock, actor=self._actor)
        self.reader = SourceReader(db, datasets, push_root)

    # -- definitions ----------------------------------------------------------------------------

    def plan(self, definitions: Sequence[Definition] | str, *, prune: bool = True) -> ApplyPlan:
        """What ``apply`` would change; ``definitions`` may be a module name or ``.py`` path."""
        return self.registry.plan(self._definitions(definitions), prune=prune)

    def apply(self, definitions: Sequence[Definition] | str, *, prune: bool = True) -> ApplyPlan:
        """Register ``definitions`` (a list, a module name or a ``.py`` path) and return the plan applied.

        With ``prune`` (the default, as ``modelyard features apply`` does) registered definitions
        missing from ``definitions`` are removed; pass ``prune=False`` to add or change only.
        """
        return self.registry.apply(self._definitions(definitions), prune=prune)

    @staticmethod
    def _definitions(definitions: Sequence[Definition] | str) -> builtins.list[Definition]:
        if isinstance(definitions, str):
            return defs.collect(defs.import_module(definitions))
        found = list(definitions)
        bad = [type(d).__name__ for d in found if not isinstance(d, defs.DEFINITION_TYPES)]
        if bad:
            raise InvalidInput(f"not feature definitions: {', '.join(bad)}")
        return found

    def list(self, kind: DefinitionKind | None = None) -> builtins.list[RegisteredDefinition]:
        return self.registry.list(kind)

    def get(self, name: str, kind: DefinitionKind | None = None) -> RegisteredDefinition:
        return self.registry.get(name, kind)

    def catalog(self) -> Catalog:
        return self.registry.catalog()

    def resolve(self, features: Sequence[str], *, full_names: bool = False) -> Resolved:
        return resolve(self.catalog(), features, full_names=full_names)

    # -- offline --------------------------------------------------------------------------------

    def get_historical_features(
        self,
        entity_rows: offline.EntityInput,
        features: Sequence[str],
        *,
        timestamp_column: str = offline.DEFAULT_TIMESTAMP_COLUMN,
        full_names: bool = False,
        log_as: str | None = None,
        run_id: str | None = None,
        batch_rows: int = offline.DEFAULT_BATCH_ROWS,
        memory_limit: str | None = None,
    ) -> offline.HistoricalFeatures:
        """Point-in-time correct features for each entity row (see ``modelyard.features.offline``).

        The answer streams (``batches()``, ``to_parquet``) unless ``log_as`` names a dataset: then
        it is read in full, logged as a version of that dataset (an input of ``run_id`` when given)
        with lineage from every feature view used, and kept on the result (``result.dataset``).
        """
        resolved = self.resolve(features, full_names=full_names)
        con = offline.connect(memory_limit)
        try:
            columns = offline.register_entities(con, entity_rows)
            offline.check_columns(resolved, columns, timestamp_column)
            available: dict[str, bool] = {}
            for request in resolved.views:
                name = f"__my_src_{request.view.name}"
                available[request.view.name] = self.reader.register(con, request.view.source, name)
                if available[request.view.name]:
                    offline.check_source(self.reader, con, request.view, name)
            query = offline.build_query(resolved, available, timestamp_column, columns)
        except BaseException:
            con.close()
            raise
        result = offline.HistoricalFeatures(con, query, resolved, columns, batch_rows=batch_rows)
        if log_as is not None:
            table = result.to_arrow()
            version = self._datasets.log(
                table,
                log_as,
                role=DatasetRole.TRAIN,
                source="features:" + ",".join(dict.fromkeys(ref.partition(":")[0] for ref in features)),
                run_id=run_id,
                user=self._actor().name,
            )
            now = self._clock.now_ms()
            with self._db.begin() as conn:
                for request in resolved.views:
                    lineage_rows.add(
                        conn,
                        NodeRef(kind=NodeKind.FEATURE_VIEW, id=f"{request.view.name}/{request.version}"),
                        NodeRef(kind=NodeKind.DATASET_VERSION, id=version.node_id),
                        Relation.FEATURES,
                        now_ms=now,
                        properties={"features": list(request.features)},
                    )
            result.keep(table, version)
        return result

    # -- online ---------------------------------------------------------------------------------

    def materialize(
        self, start: TimeLike, end: TimeLike, views: Sequence[str] | None = None
    ) -> builtins.list[MaterializeResult]:
        """Load each online view's latest rows stamped in ``[start, end)`` into the online store."""
        return self._materialize(views, lambda _view: to_ms(start), to_ms(end))

    def materialize_incremental(
        self, end: TimeLike | None = None, views: Sequence[str] | None = None
    ) -> builtins.list[MaterializeResult]:
        """Load what arrived since each view's last materialization (its ``ttl`` back, or
        everything, the first time) up to ``end`` (default now), and move the watermark to ``end``."""
        end_ms = self._clock.now_ms() if end is None else to_ms(end)
        catalog = self.catalog()

        def start_of(view: str) -> int:
            mark = self.registry.watermark(view)
            if mark is not None:
                return mark
            ttl = catalog.view(view).ttl_ms
            widest = max((a.window_ms for a in catalog.view(view).aggregations), default=0)
            back = max(ttl or 0, widest)
            return 0 if ttl is None else end_ms - back

        return self._materialize(views, start_of, end_ms, incremental=True)

    def _materialize(
        self,
        views: Sequence[str] | None,
        start_of: Callable[[str], int],
        end_ms: int,
        *,
        incremental: bool = False,
    ) -> builtins.list[MaterializeResult]:
        catalog = self.catalog()
        names = [v.name for v in catalog.views.values() if v.online] if views is None else list(views)
        now = self._clock.now_ms()
        with guarded(self._db, self._clock) as conn:
            require(conn, self._actor(), Permission.TRACK, now_ms=now)
        results = []
        for name in names:
            view = catalog.view(name)
            start_ms = start_of(name)
            if start_ms >= end_ms:
                results.append(MaterializeResult(view=name, start_ms=start_ms, end_ms=end_ms, rows=0, events=0))
                continue
            results.append(materialize_view(self.reader, self.online, view, catalog.entity_of(view), start_ms, end_ms))
            if incremental:
                self.registry.set_watermark(name, end_ms)
        return results

    def online_lookup(self, resolved: Resolved, rows: pd.DataFrame, *, at: TimeLike | None = None) -> OnlineResult:
        """Features of ``rows`` from the online store for already resolved references (serving)."""
        at_ms = self._clock.now_ms() if at is None else to_ms(at)
        return online_features(self.online, resolved, rows, at_ms, strict_time=at is not None)

    def get_online_features(
        self,
        entity_rows_: pd.DataFrame | Sequence[dict[str, Any]] | dict[str, Any],
        features: Sequence[str],
        *,
        at: TimeLike | None = None,
        full_names: bool = False,
    ) -> pd.DataFrame:
        """The asked-for features of each entity row (join keys, plus request fields for on-demand
        features), as the online store holds them now (or at ``at``); unknown entities get nulls."""
        resolved = self.resolve(features, full_names=full_names)
        return self.online_lookup(resolved, entity_rows(entity_rows_), at=at).frame

    def push(
        self,
        source: str,
        rows: pd.DataFrame | Sequence[dict[str, Any]],
        *,
        to: PushMode | str = PushMode.ONLINE_AND_OFFLINE,
        event_ids: Sequence[str] | None = None,
        catalog: Catalog | None = None,
    ) -> int:
        """Push rows of a ``PushSource`` to the online store, the offline store, or both.

        ``catalog`` (from ``catalog()``) spares a read of the definitions per call to a caller
        that pushes often, such as the stream consumer.
        """
        return push_rows(
            catalog or self.catalog(),
            self.online,
            self.reader,
            self._clock,
            source,
            entity_rows(rows),
            to=to,
            event_ids=event_ids,
        )

    def close(self) -> None:
        self.online.close()
