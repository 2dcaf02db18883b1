"""The feature store from the SDK: ``my.feature_store`` and ``open_feature_store(backend)``.

``open_feature_store(backend)`` opens (once per backend) the ``FeatureStore`` over the backend's
metadata store, its dataset service and the online store the settings name
(``MODELYARD_ONLINE_STORE_URI``: a SQLite file under ``MODELYARD_HOME`` by default, or Redis).
Pushed rows are kept offline under the artifact store (``<artifacts>/features/push/<source>``).

``my.feature_store`` is the same store for the fluent API's current settings::

    import modelyard as my

    my.feature_store.apply("features_repo.py")
    train = my.feature_store.get_historical_features(entities, ["card_stats"], log_as="fraud-train").to_pandas()
    my.feature_store.materialize_incremental()
    my.feature_store.get_online_features([{"card_id": 7}], ["card_stats:amount_sum_1h"])
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Sequence
from typing import Any

import pandas as pd

from modelyard.data import DatasetService
from modelyard.domain.features import ApplyPlan, Definition, DefinitionKind, RegisteredDefinition
from modelyard.features import FeatureStore, HistoricalFeatures, MaterializeResult, PushMode, open_online_store
from modelyard.features.offline import DEFAULT_TIMESTAMP_COLUMN, EntityInput
from modelyard.features.times import TimeLike
from modelyard.sdk.backends.local import LocalBackend
from modelyard.sdk.fluent import active_run, client

_stores: dict[int, FeatureStore] = {}
_lock = threading.Lock()


def open_feature_store(backend: LocalBackend) -> FeatureStore:
    """The feature store of ``backend``, opened on first use."""
    with _lock:
        store = _stores.get(id(backend))
        if store is None:
            settings = backend.settings
            datasets = DatasetService(backend.db, backend.artifact_store, actor=settings.user)
            store = _stores[id(backend)] = FeatureStore(
                backend.db,
                datasets,
                open_online_store(settings.online_store_uri),
                push_root=f"{backend.artifact_store.root_uri}/features/push",
                actor=settings.user,
            )
        return store


class FluentFeatures:
    """``my.feature_store``: the feature store of the fluent API's current settings.

    (Not ``my.features``: that name is the ``modelyard.features`` package, which Python binds on
    ``modelyard`` as soon as anything imports it.)
    """

    @property
    def store(self) -> FeatureStore:
        return open_feature_store(client().backend)

    def apply(self, definitions: Sequence[Definition] | str, *, prune: bool = True) -> ApplyPlan:
        """Register definitions (a list, a module name or a ``.py`` path); see ``FeatureStore.apply``."""
        return self.store.apply(definitions, prune=prune)

    def plan(self, definitions: Sequence[Definition] | str, *, prune: bool = True) -> ApplyPlan:
        return self.store.plan(definitions, prune=prune)

    def list(self, kind: DefinitionKind | None = None) -> builtins.list[RegisteredDefinition]:
        return self.store.list(kind)

    def get(self, name: str, kind: DefinitionKind | None = None) -> RegisteredDefinition:
        return self.store.get(name, kind)

    def get_historical_features(
        self,
        entity_rows: EntityInput,
        features: Sequence[str],
        *,
        timestamp_column: str = DEFAULT_TIMESTAMP_COLUMN,
        full_names: bool = False,
        log_as: str | None = None,
        run_id: str | None = None,
    ) -> HistoricalFeatures:
        """Point-in-time correct training data; with ``log_as`` logged as a dataset version of the
        active run (or ``run_id``)."""
        if log_as is not None and run_id is None:
            current = active_run()
            run_id = None if current is None else str(current.info.run_id)
        return self.store.get_historical_features(
            entity_rows,
            features,
            timestamp_column=timestamp_column,
            full_names=full_names,
            log_as=log_as,
            run_id=run_id,
        )

    def materialize(
        self, start: TimeLike, end: TimeLike, views: Sequence[str] | None = None
    ) -> builtins.list[MaterializeResult]:
        return self.store.materialize(start, end, views)

    def materialize_incremental(
        self, end: TimeLike | None = None, views: Sequence[str] | None = None
    ) -> builtins.list[MaterializeResult]:
        return self.store.materialize_incremental(end, views)

    def get_online_features(
        self,
        entity_rows: pd.DataFrame | Sequence[dict[str, Any]] | dict[str, Any],
        features: Sequence[str],
        *,
        at: TimeLike | None = None,
        full_names: bool = False,
    ) -> pd.DataFrame:
        return self.store.get_online_features(entity_rows, features, at=at, full_names=full_names)

    def push(
        self,
        source: str,
        rows: pd.DataFrame | Sequence[dict[str, Any]],
        *,
        to: PushMode | str = PushMode.ONLINE_AND_OFFLINE,
        event_ids: Sequence[str] | None = None,
    ) -> int:
        return self.store.push(source, rows, to=to, event_ids=event_ids)


feature_store = FluentFeatures()
