"""The feature store: one definition of each feature for training and serving, point-in-time correct.

Definitions (``modelyard.domain.features``: entities, sources, feature views, on-demand views)
are written in Python and registered, versioned, in the metadata store (``registry``). Training
data comes from the offline store: DuckDB ASOF joins over the sources (``offline``). Serving
reads the online store, SQLite or Redis (``online``), loaded by ``materialize``, ``push`` or the
Redis Streams consumer (``stream``); deployments are enriched from it (``enrich``).

The definitions, the online stores and the lineage describers are imported with the package;
the services (``FeatureStore`` and what it returns) on first use (PEP 562), because they load
DuckDB and every process that opens a backend imports this package for its lineage kinds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelyard._lazy import lazy_exports
from modelyard.domain.features import Aggregation as Aggregation
from modelyard.domain.features import AggregationFunction as AggregationFunction
from modelyard.domain.features import DatasetSource as DatasetSource
from modelyard.domain.features import Entity as Entity
from modelyard.domain.features import FeatureView as FeatureView
from modelyard.domain.features import Field as Field
from modelyard.domain.features import FileSource as FileSource
from modelyard.domain.features import OnDemandFeature as OnDemandFeature
from modelyard.domain.features import OnDemandFeatureView as OnDemandFeatureView
from modelyard.domain.features import PushSource as PushSource
from modelyard.domain.features import SqlSource as SqlSource
from modelyard.domain.features import ValueType as ValueType
from modelyard.features.lineage_nodes import describe_feature_source as describe_feature_source
from modelyard.features.lineage_nodes import describe_feature_view as describe_feature_view
from modelyard.features.online import OnlineStore as OnlineStore
from modelyard.features.online import SqliteOnlineStore as SqliteOnlineStore
from modelyard.features.online import open_online_store as open_online_store

if TYPE_CHECKING:
    from modelyard.features.enrich import OnlineEnricher as OnlineEnricher
    from modelyard.features.materialize import MaterializeResult as MaterializeResult
    from modelyard.features.offline import HistoricalFeatures as HistoricalFeatures
    from modelyard.features.push import PushMode as PushMode
    from modelyard.features.registry import Catalog as Catalog
    from modelyard.features.registry import FeatureRegistry as FeatureRegistry
    from modelyard.features.store import FeatureStore as FeatureStore

__getattr__ = lazy_exports(__name__, __file__)
del TYPE_CHECKING, lazy_exports  # import plumbing, not part of the package's surface

__all__ = [
    "Aggregation",
    "AggregationFunction",
    "Catalog",
    "DatasetSource",
    "Entity",
    "FeatureRegistry",
    "FeatureStore",
    "FeatureView",
    "Field",
    "FileSource",
    "HistoricalFeatures",
    "MaterializeResult",
    "OnDemandFeature",
    "OnDemandFeatureView",
    "OnlineEnricher",
    "OnlineStore",
    "PushMode",
    "PushSource",
    "SqlSource",
    "SqliteOnlineStore",
    "ValueType",
    "describe_feature_source",
    "describe_feature_view",
    "open_online_store",
]
