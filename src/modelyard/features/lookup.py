"""Online retrieval: the features of entity rows from the online store, at serving time.

Same rules as the offline store, applied to what the online store holds: a view's latest value
counts when it is within the view's ``ttl`` of the time asked about (now, by default) and not
stamped after an explicitly given time; aggregates are computed over the events in
``(at - window, at]``; on-demand features run the same expressions as in training. So for one
entity and time, offline and online give the same values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from modelyard.domain.features import Aggregation, AggregationFunction, ValueType
from modelyard.errors import InvalidInput
from modelyard.features import on_demand
from modelyard.features.online.base import Event, OnlineStore, entity_key
from modelyard.features.refs import Resolved, ViewRequest


@dataclass(frozen=True)
class OnlineResult:
    """The rows with their features, and per view the positions of rows it knew nothing about."""

    frame: pd.DataFrame
    missing: dict[str, list[int]] = field(default_factory=dict)


def entity_rows(rows: pd.DataFrame | Sequence[dict[str, Any]] | dict[str, Any]) -> pd.DataFrame:
    if isinstance(rows, pd.DataFrame):
        return rows
    if isinstance(rows, dict):
        rows = [rows]
    if not isinstance(rows, Sequence) or not all(isinstance(r, dict) for r in rows):
        raise InvalidInput("entity rows are a DataFrame or a list of {column: value} dicts")
    return pd.DataFrame(list(rows))


def keys_of(frame: pd.DataFrame, join_keys: Sequence[str]) -> list[str]:
    columns = [frame[k].tolist() for k in join_keys]
    return [entity_key(values) for values in zip(*columns, strict=True)]


def aggregate(agg: Aggregation, events: list[Event], after_ms: int) -> Any:
    """One aggregate over the events stamped after ``after_ms`` (the caller bounded the end)."""
    inside = [e for e in events if e.ts_ms > after_ms]
    if agg.function is AggregationFunction.COUNT:
        return len(inside)
    values = [float(v) for e in inside if (v := e.values.get(agg.column)) is not None]
    if agg.function is AggregationFunction.SUM:
        return float(sum(values))
    if not values:
        return None
    if agg.function is AggregationFunction.MEAN:
        return float(sum(values) / len(values))
    return float(min(values) if agg.function is AggregationFunction.MIN else max(values))


def typed(values: list[Any], dtype: ValueType) -> Any:
    """Values read back from JSON as an array of the column type training data has for them
    (built without a Series: this runs for every feature of every served request)."""
    if dtype is ValueType.FLOAT64:
        return np.array([np.nan if v is None else v for v in values], dtype="float64")
    if dtype is ValueType.TIMESTAMP:
        return pd.to_datetime(pd.Series(values), utc=True, format="ISO8601").dt.tz_localize(None).to_numpy()
    if dtype is ValueType.INT64 and None not in values:
        return np.array(values, dtype="int64")
    if dtype is ValueType.STRING:
        return np.array(values, dtype=object)
    return pd.array(values, dtype=on_demand.PANDAS_DTYPES[dtype])


def _view_values(
    store: OnlineStore, request: ViewRequest, keys: list[str], at_ms: int, strict_time: bool
) -> tuple[dict[str, list[Any]], list[int]]:
    view = request.view
    plain = [f for f in request.features if f in {x.name for x in view.features}]
    aggs = [a for a in view.aggregations if a.name in request.features]
    values: dict[str, list[Any]] = {f: [None] * len(keys) for f in request.features}
    # An entity is unknown when the view holds no latest row for it; no events in a window is a
    # count of 0, not an unknown entity, so aggregate-only views never report one.
    missing: set[int] = set(range(len(keys))) if plain else set()
    if plain:
        latest = store.read_latest(view.name, keys)
        ttl = view.ttl_ms
        for i, row in enumerate(latest):
            if row is None:
                continue
            missing.discard(i)
            if (ttl is not None and at_ms - row.ts_ms > ttl) or (strict_time and row.ts_ms > at_ms):
                continue
            for f in plain:
                values[f][i] = row.values.get(f)
    if aggs:
        widest = max(a.window_ms for a in aggs)
        events = store.read_events(view.name, keys, at_ms - widest, at_ms)
        for i, found in enumerate(events):
            for a in aggs:
                values[a.name][i] = aggregate(a, found, at_ms - a.window_ms)
    return values, sorted(missing)


def online_features(
    store: OnlineStore, resolved: Resolved, rows: pd.DataFrame, at_ms: int, *, strict_time: bool = False
) -> OnlineResult:
    """``rows`` with the asked-for features appended (``strict_time``: ``at_ms`` was given by the
    caller, so a value stamped after it is not used)."""
    missing_cols = [k for k in resolved.join_keys + resolved.request_fields if k not in rows.columns]
    if missing_cols:
        raise InvalidInput(f"the rows lack field(s) {', '.join(missing_cols)} that the asked-for features need")
    if not isinstance(rows.index, pd.RangeIndex) or rows.index.start != 0 or rows.index.step != 1:
        rows = rows.reset_index(drop=True)
    by_feature: dict[tuple[str, str], Any] = {}
    missing: dict[str, list[int]] = {}
    for request in resolved.views:
        keys = keys_of(rows, request.entity.join_keys)
        values, absent = _view_values(store, request, keys, at_ms, strict_time)
        if absent:
            missing[request.view.name] = absent
        for feature, column in values.items():
            by_feature[(request.view.name, feature)] = typed(column, request.view.dtype_of(feature))
    for odv in resolved.on_demand:
        scope = rows[[f.name for f in odv.request_fields]].copy()
        for source in odv.sources:
            for (view, feature), series in by_feature.items():
                if view == source:
                    scope[feature] = series
        for name, series in on_demand.compute(odv, scope).items():
            by_feature[(odv.name, name)] = series
    clash = [o.column for o in resolved.outputs if o.column in rows.columns]
    if clash:
        raise InvalidInput(f"the rows already have field(s) named like features: {', '.join(clash)}")
    columns: dict[str, Any] = {c: rows[c] for c in rows.columns}  # Series: their dtypes stay
    for o in resolved.outputs:
        value = by_feature[(o.view, o.feature)]
        columns[o.column] = value.to_numpy() if isinstance(value, pd.Series) else value
    return OnlineResult(frame=pd.DataFrame(columns, index=rows.index, copy=False), missing=missing)
