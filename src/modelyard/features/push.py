"""Pushing rows into the feature store as they happen (code, or the stream consumer).

Pushed rows go to every feature view whose source is the named ``PushSource``: online, each
entity's latest row (newer-wins) and, for views with aggregates, the row as an event; offline,
appended as one Parquet file to the source's folder, where training reads it back. An event's id
is the source's ``event_id_field``, else the id the caller gives (a stream entry's), else a hash
of the row, so the same event pushed twice is counted once.
"""

from __future__ import annotations

import enum
import hashlib
import uuid
from collections.abc import Sequence
from typing import Any

import pandas as pd
import pyarrow as pa

from modelyard.clock import Clock
from modelyard.domain.features import FeatureView, PushSource
from modelyard.errors import InvalidInput, NotFound
from modelyard.features.online.base import Event, OnlineStore, encode_values, entity_key
from modelyard.features.registry import Catalog
from modelyard.features.sources import SourceReader, write_push_file


class PushMode(enum.StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"
    ONLINE_AND_OFFLINE = "online_and_offline"


def push_targets(catalog: Catalog, source: str) -> tuple[PushSource, list[FeatureView]]:
    """The push source named ``source`` and the views it feeds."""
    views = [v for v in catalog.views.values() if isinstance(v.source, PushSource) and v.source.name == source]
    if not views:
        known = sorted({v.source.name for v in catalog.views.values() if isinstance(v.source, PushSource)})
        raise NotFound(f"no feature view reads push source {source!r} (push sources: {', '.join(known) or 'none'})")
    push = views[0].source
    assert isinstance(push, PushSource)
    return push, views


def _millis(column: pd.Series) -> list[int]:
    stamps = (
        pd.to_datetime(column, utc=True, format="ISO8601")
        if column.dtype == object
        else pd.to_datetime(column, utc=True)
    )
    return [int(v) for v in stamps.to_numpy(dtype="datetime64[ms]").astype("int64")]


def push_rows(
    catalog: Catalog,
    store: OnlineStore,
    reader: SourceReader,
    clock: Clock,
    source: str,
    frame: pd.DataFrame,
    *,
    to: PushMode | str = PushMode.ONLINE_AND_OFFLINE,
    event_ids: Sequence[str] | None = None,
) -> int:
    """Push ``frame``'s rows; returns how many. ``event_ids`` (one per row) name the events."""
    mode = PushMode(to)
    push, views = push_targets(catalog, source)
    if frame.empty:
        return 0
    needed = {push.timestamp_field, *(f.name for f in push.schema)}
    for view in views:
        needed.update(catalog.entity_of(view).join_keys)
    missing = sorted(needed - set(frame.columns))
    if missing:
        raise InvalidInput(f"rows pushed to {source!r} lack field(s) {', '.join(missing)}")
    if event_ids is not None and len(event_ids) != len(frame):
        raise InvalidInput("give one event id per pushed row")
    frame = frame.reset_index(drop=True)
    try:
        millis = _millis(frame[push.timestamp_field])
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"pushed {push.timestamp_field!r} values are not timestamps: {exc}") from exc
    if mode is not PushMode.OFFLINE:
        records = frame.astype(object).where(frame.notna(), None).to_dict("records")
        ids = _event_ids(push, records, event_ids)
        for view in views:
            _push_online(store, view, catalog.entity_of(view).join_keys, records, millis, ids)
    if mode is not PushMode.ONLINE:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        name = f"{clock.now_ms():013d}-{uuid.uuid4().hex[:12]}.parquet"
        write_push_file(reader.push_folder(push.name), table, name)
    return len(frame)


def _event_ids(push: PushSource, records: list[dict[str, Any]], given: Sequence[str] | None) -> list[str]:
    if push.event_id_field:
        return [str(r[push.event_id_field]) for r in records]
    if given is not None:
        return [str(i) for i in given]
    return [hashlib.sha256(encode_values(r).encode()).hexdigest()[:32] for r in records]


def _push_online(
    store: OnlineStore,
    view: FeatureView,
    join_keys: tuple[str, ...],
    records: list[dict[str, Any]],
    millis: list[int],
    ids: list[str],
) -> None:
    keys = [entity_key([r[k] for k in join_keys]) for r in records]
    if view.features:
        latest: dict[str, tuple[str, int, dict[str, Any]]] = {}
        for key, ms, r in zip(keys, millis, records, strict=True):
            if key not in latest or ms >= latest[key][1]:
                latest[key] = (key, ms, {f.name: _plain(r.get(f.name)) for f in view.features})
        store.write_latest(view.name, list(latest.values()))
    if view.aggregations:
        columns = sorted({a.column for a in view.aggregations})
        store.add_events(
            view.name,
            [
                Event(key=key, event_id=event_id, ts_ms=ms, values={c: _plain(r.get(c)) for c in columns})
                for key, ms, r, event_id in zip(keys, millis, records, ids, strict=True)
            ],
        )


def _plain(value: Any) -> Any:
    """A value JSON can hold: numpy scalars become Python ones, timestamps ISO text."""
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, str):
        return value.item()
    return value
