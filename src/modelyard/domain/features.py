"""Feature definitions: entities, sources, feature views and on-demand features, as plain values.

Users write these in a Python module (``modelyard features apply MODULE`` collects every
definition at its top level); the registry stores each one as the JSON of ``to_spec()``, so a
definition is versioned and two versions compare field by field. A definition does no I/O: the
features service reads sources, the online store holds values.

- ``Entity``: what features describe (a card, a customer), named by one or more join keys;
- sources: ``FileSource`` (Parquet or CSV file, glob or fsspec URL), ``DatasetSource`` (a stored
  dataset version), ``SqlSource`` (a query on the store's database), ``PushSource`` (rows pushed
  by code or a stream consumer, with an optional file of history behind them);
- ``FeatureView``: typed features of one entity read from one source, stamped by the source's
  event-timestamp column and valid for ``ttl``; ``aggregations`` add windowed aggregates (a card's
  transaction count over the last hour) computed from the source's events;
- ``OnDemandFeatureView``: features computed at request time from request fields and other
  views' features, by pandas expressions (``amount / amount_sum_1h``), so training and serving
  run the same formula.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeAlias

from modelyard.errors import InvalidInput

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
DEFAULT_TIMESTAMP_FIELD = "event_timestamp"


def check_name(kind: str, name: str) -> str:
    """A definition name usable as a column and key part: letters, digits and ``_``, not a digit first."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInput(
            f"invalid {kind} name {name!r}: use up to 128 letters, digits or '_', not starting with a digit"
        )
    return name


class ValueType(enum.StrEnum):
    """The type of a feature value; online values are cast back to it when read."""

    INT64 = "int64"
    FLOAT64 = "float64"
    STRING = "string"
    BOOL = "bool"
    TIMESTAMP = "timestamp"


class AggregationFunction(enum.StrEnum):
    COUNT = "count"
    SUM = "sum"
    MEAN = "mean"
    MIN = "min"
    MAX = "max"


class DefinitionKind(enum.StrEnum):
    ENTITY = "entity"
    FEATURE_VIEW = "feature_view"
    ON_DEMAND_VIEW = "on_demand_view"


@dataclass(frozen=True, kw_only=True)
class Field:
    """A named, typed column: a feature, or a field a request or push carries."""

    name: str
    dtype: ValueType = ValueType.FLOAT64

    def __post_init__(self) -> None:
        check_name("field", self.name)
        try:
            object.__setattr__(self, "dtype", ValueType(self.dtype))
        except ValueError:
            raise InvalidInput(
                f"field {self.name!r}: unknown type {self.dtype!r}; use one of {', '.join(t.value for t in ValueType)}"
            ) from None

    def to_spec(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype.value}

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> Field:
        return cls(name=spec["name"], dtype=ValueType(spec["dtype"]))


@dataclass(frozen=True, kw_only=True)
class Entity:
    """What features describe, identified by ``join_keys`` (columns of entity rows and sources)."""

    name: str
    join_keys: tuple[str, ...]
    description: str = ""

    def __post_init__(self) -> None:
        check_name("entity", self.name)
        keys = (self.join_keys,) if isinstance(self.join_keys, str) else tuple(self.join_keys)
        if not keys:
            raise InvalidInput(f"entity {self.name!r} needs at least one join key")
        for key in keys:
            check_name("join key", key)
        object.__setattr__(self, "join_keys", keys)

    kind = DefinitionKind.ENTITY

    def to_spec(self) -> dict[str, Any]:
        return {"name": self.name, "join_keys": list(self.join_keys), "description": self.description}

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> Entity:
        return cls(name=spec["name"], join_keys=tuple(spec["join_keys"]), description=spec.get("description", ""))


@dataclass(frozen=True, kw_only=True)
class FileSource:
    """A Parquet or CSV file (a glob of them, or an fsspec URL such as ``s3://bucket/tx/*.parquet``)."""

    path: str
    timestamp_field: str = DEFAULT_TIMESTAMP_FIELD
    format: str | None = None  # "parquet" or "csv"; None: from the path's suffix

    def __post_init__(self) -> None:
        if not self.path:
            raise InvalidInput("a file source needs a path")
        fmt = self.format or ("csv" if self.path.lower().endswith((".csv", ".csv.gz", ".tsv")) else "parquet")
        if fmt not in ("parquet", "csv"):
            raise InvalidInput(f"file source {self.path!r}: format must be 'parquet' or 'csv', got {fmt!r}")
        object.__setattr__(self, "format", fmt)
        check_name("timestamp field", self.timestamp_field)

    def to_spec(self) -> dict[str, Any]:
        return {"type": "file", "path": self.path, "format": self.format, "timestamp_field": self.timestamp_field}

    @property
    def label(self) -> str:
        return self.path


@dataclass(frozen=True, kw_only=True)
class DatasetSource:
    """A stored dataset version, ``datasets:/name@digest``: training reaches raw data through lineage."""

    uri: str
    timestamp_field: str = DEFAULT_TIMESTAMP_FIELD

    def __post_init__(self) -> None:
        if not self.uri.startswith("datasets:/"):
            raise InvalidInput(f"a dataset source is a datasets:/name@digest URI, not {self.uri!r}")
        check_name("timestamp field", self.timestamp_field)

    def to_spec(self) -> dict[str, Any]:
        return {"type": "dataset", "uri": self.uri, "timestamp_field": self.timestamp_field}

    @property
    def label(self) -> str:
        return self.uri


@dataclass(frozen=True, kw_only=True)
class SqlSource:
    """A ``SELECT`` run on the store's own database (SQLite or PostgreSQL)."""

    query: str
    timestamp_field: str = DEFAULT_TIMESTAMP_FIELD

    def __post_init__(self) -> None:
        text = self.query.strip().rstrip(";").strip()
        if not re.match(r"(?is)^(select|with)\b", text):
            raise InvalidInput("a SQL source is one SELECT (or WITH ... SELECT) query")
        object.__setattr__(self, "query", text)
        check_name("timestamp field", self.timestamp_field)

    def to_spec(self) -> dict[str, Any]:
        return {"type": "sql", "query": self.query, "timestamp_field": self.timestamp_field}

    @property
    def label(self) -> str:
        return f"sql:{self.query}"


@dataclass(frozen=True, kw_only=True)
class PushSource:
    """Rows pushed by code (``push``) or a stream consumer; ``batch_source`` holds their history.

    ``schema`` lists the fields a pushed row carries besides the join keys and the timestamp;
    ``event_id_field`` names a column that identifies an event, so an event delivered twice
    counts once in aggregates (without it, a stream entry's id, or the row's content, is used).
    """

    name: str
    schema: tuple[Field, ...]
    timestamp_field: str = DEFAULT_TIMESTAMP_FIELD
    batch_source: FileSource | None = None
    event_id_field: str | None = None

    def __post_init__(self) -> None:
        check_name("push source", self.name)
        object.__setattr__(self, "schema", tuple(self.schema))
        check_name("timestamp field", self.timestamp_field)

    def to_spec(self) -> dict[str, Any]:
        return {
            "type": "push",
            "name": self.name,
            "schema": [f.to_spec() for f in self.schema],
            "timestamp_field": self.timestamp_field,
            "batch_source": None if self.batch_source is None else self.batch_source.to_spec(),
            "event_id_field": self.event_id_field,
        }

    @property
    def label(self) -> str:
        return f"push:{self.name}"


Source: TypeAlias = FileSource | DatasetSource | SqlSource | PushSource


def source_from_spec(spec: dict[str, Any]) -> Source:
    kind = spec["type"]
    if kind == "file":
        return FileSource(path=spec["path"], format=spec["format"], timestamp_field=spec["timestamp_field"])
    if kind == "dataset":
        return DatasetSource(uri=spec["uri"], timestamp_field=spec["timestamp_field"])
    if kind == "sql":
        return SqlSource(query=spec["query"], timestamp_field=spec["timestamp_field"])
    batch = spec.get("batch_source")
    return PushSource(
        name=spec["name"],
        schema=tuple(Field.from_spec(f) for f in spec["schema"]),
        timestamp_field=spec["timestamp_field"],
        batch_source=None if batch is None else FileSource(**{k: v for k, v in batch.items() if k != "type"}),
        event_id_field=spec.get("event_id_field"),
    )


def _window_label(window: timedelta) -> str:
    seconds = int(window.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@dataclass(frozen=True, kw_only=True)
class Aggregation:
    """``function`` of ``column`` over the source's events in the ``window`` before a time (exclusive
    start, inclusive end); ``count`` and ``sum`` of no events are 0, the others missing."""

    column: str
    function: AggregationFunction
    window: timedelta
    name: str = ""

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "function", AggregationFunction(self.function))
        except ValueError:
            choices = ", ".join(f.value for f in AggregationFunction)
            raise InvalidInput(f"unknown aggregation {self.function!r}; use one of {choices}") from None
        if not isinstance(self.window, timedelta) or self.window.total_seconds() < 1:
            raise InvalidInput(f"aggregation of {self.column!r}: window must be a timedelta of at least 1 second")
        check_name("aggregated column", self.column)
        if not self.name:
            object.__setattr__(self, "name", f"{self.column}_{self.function.value}_{_window_label(self.window)}")
        check_name("aggregation", self.name)

    @property
    def window_ms(self) -> int:
        return int(self.window.total_seconds() * 1000)

    @property
    def dtype(self) -> ValueType:
        return ValueType.INT64 if self.function is AggregationFunction.COUNT else ValueType.FLOAT64

    def to_spec(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "column": self.column,
            "function": self.function.value,
            "window_s": self.window.total_seconds(),
        }

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> Aggregation:
        return cls(
            name=spec["name"],
            column=spec["column"],
            function=AggregationFunction(spec["function"]),
            window=timedelta(seconds=spec["window_s"]),
        )


@dataclass(frozen=True, kw_only=True)
class FeatureView:
    """Features of one entity from one source, point-in-time: a value holds from its event timestamp
    until a newer one arrives or ``ttl`` passes (``None``: forever)."""

    name: str
    entity: str
    source: Source
    features: tuple[Field, ...] = ()
    aggregations: tuple[Aggregation, ...] = ()
    ttl: timedelta | None = None
    online: bool = True
    description: str = ""

    kind = DefinitionKind.FEATURE_VIEW

    def __post_init__(self) -> None:
        check_name("feature view", self.name)
        object.__setattr__(self, "features", tuple(self.features))
        object.__setattr__(self, "aggregations", tuple(self.aggregations))
        if not self.features and not self.aggregations:
            raise InvalidInput(f"feature view {self.name!r} needs at least one feature or aggregation")
        names = self.feature_names
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise InvalidInput(f"feature view {self.name!r}: feature names repeat: {', '.join(repeated)}")
        if self.ttl is not None and (not isinstance(self.ttl, timedelta) or self.ttl.total_seconds() <= 0):
            raise InvalidInput(f"feature view {self.name!r}: ttl must be a positive timedelta or None")

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features] + [a.name for a in self.aggregations]

    @property
    def ttl_ms(self) -> int | None:
        return None if self.ttl is None else int(self.ttl.total_seconds() * 1000)

    def dtype_of(self, feature: str) -> ValueType:
        for f in self.features:
            if f.name == feature:
                return f.dtype
        for a in self.aggregations:
            if a.name == feature:
                return a.dtype
        raise InvalidInput(
            f"feature view {self.name!r} has no feature {feature!r}; it has {', '.join(self.feature_names)}"
        )

    def to_spec(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "entity": self.entity,
            "source": self.source.to_spec(),
            "features": [f.to_spec() for f in self.features],
            "aggregations": [a.to_spec() for a in self.aggregations],
            "ttl_s": None if self.ttl is None else self.ttl.total_seconds(),
            "online": self.online,
            "description": self.description,
        }

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> FeatureView:
        return cls(
            name=spec["name"],
            entity=spec["entity"],
            source=source_from_spec(spec["source"]),
            features=tuple(Field.from_spec(f) for f in spec["features"]),
            aggregations=tuple(Aggregation.from_spec(a) for a in spec["aggregations"]),
            ttl=None if spec["ttl_s"] is None else timedelta(seconds=spec["ttl_s"]),
            online=spec["online"],
            description=spec.get("description", ""),
        )


@dataclass(frozen=True, kw_only=True)
class OnDemandFeature:
    """One computed feature: a pandas expression (``DataFrame.eval``) over request fields and features."""

    name: str
    expression: str
    dtype: ValueType = ValueType.FLOAT64

    def __post_init__(self) -> None:
        check_name("on-demand feature", self.name)
        object.__setattr__(self, "dtype", ValueType(self.dtype))
        if not self.expression.strip():
            raise InvalidInput(f"on-demand feature {self.name!r} needs an expression")

    def to_spec(self) -> dict[str, Any]:
        return {"name": self.name, "expression": self.expression, "dtype": self.dtype.value}


@dataclass(frozen=True, kw_only=True)
class OnDemandFeatureView:
    """Features computed when asked, from ``request_fields`` (sent with each request or entity row)
    and the features of the views in ``sources``."""

    name: str
    features: tuple[OnDemandFeature, ...]
    request_fields: tuple[Field, ...] = ()
    sources: tuple[str, ...] = ()
    description: str = ""

    kind = DefinitionKind.ON_DEMAND_VIEW

    def __post_init__(self) -> None:
        check_name("on-demand feature view", self.name)
        object.__setattr__(self, "features", tuple(self.features))
        object.__setattr__(self, "request_fields", tuple(self.request_fields))
        object.__setattr__(self, "sources", tuple(self.sources))
        if not self.features:
            raise InvalidInput(f"on-demand feature view {self.name!r} needs at least one feature")

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    def dtype_of(self, feature: str) -> ValueType:
        for f in self.features:
            if f.name == feature:
                return f.dtype
        raise InvalidInput(f"on-demand view {self.name!r} has no feature {feature!r}")

    def to_spec(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "features": [f.to_spec() for f in self.features],
            "request_fields": [f.to_spec() for f in self.request_fields],
            "sources": list(self.sources),
            "description": self.description,
        }

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> OnDemandFeatureView:
        return cls(
            name=spec["name"],
            features=tuple(OnDemandFeature(**f) for f in spec["features"]),
            request_fields=tuple(Field.from_spec(f) for f in spec["request_fields"]),
            sources=tuple(spec["sources"]),
            description=spec.get("description", ""),
        )


Definition: TypeAlias = Entity | FeatureView | OnDemandFeatureView


def definition_from_spec(kind: DefinitionKind, spec: dict[str, Any]) -> Definition:
    if kind is DefinitionKind.ENTITY:
        return Entity.from_spec(spec)
    if kind is DefinitionKind.FEATURE_VIEW:
        return FeatureView.from_spec(spec)
    return OnDemandFeatureView.from_spec(spec)


@dataclass(frozen=True, kw_only=True)
class RegisteredDefinition:
    """A definition as the registry holds it: its version (1, 2, ...) and the spec's digest."""

    kind: DefinitionKind
    name: str
    version: int
    digest: str
    spec: dict[str, Any]
    created_at: int
    created_by: str
    removed: bool = False

    @property
    def definition(self) -> Definition:
        return definition_from_spec(self.kind, self.spec)

    @property
    def node_id(self) -> str:
        """The lineage node id of this version of a feature view: ``name/version``."""
        return f"{self.name}/{self.version}"


class ChangeKind(enum.StrEnum):
    ADDED = "added"
    CHANGED = "changed"
    REMOVED = "removed"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, kw_only=True)
class DefinitionChange:
    """One line of an apply plan; ``fields`` lists the top-level spec keys that differ when changed."""

    kind: DefinitionKind
    name: str
    change: ChangeKind
    fields: tuple[str, ...] = ()
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class ApplyPlan:
    """What ``apply`` would do (or did): every definition added, changed, removed or left alone."""

    changes: tuple[DefinitionChange, ...] = field(default_factory=tuple)

    def of(self, change: ChangeKind) -> list[DefinitionChange]:
        return [c for c in self.changes if c.change is change]

    @property
    def is_empty(self) -> bool:
        return all(c.change is ChangeKind.UNCHANGED for c in self.changes)
