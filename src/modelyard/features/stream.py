"""A Redis Streams consumer that keeps the online store current as events arrive.

Each stream entry is one row of a ``PushSource`` (its fields: the entity's join keys, the
source's timestamp field, its schema's fields), pushed online as ``push`` would. Delivery is
**at-least-once** with **idempotent writes**, so a crash loses nothing and doubles nothing:

- consumers share the stream through a consumer group (``XREADGROUP``): each entry goes to one;
- an entry is acknowledged (``XACK``) only after its row is written, so one a consumer read but
  did not finish stays pending; on start a consumer first re-reads its own pending entries, and
  takes over (``XAUTOCLAIM``) those another consumer left pending longer than ``claim_idle_ms``;
- writing an entry twice changes nothing: latest values are newer-wins and window events are
  keyed by event id (the source's ``event_id_field``, else the stream entry's id).

The lag (entries not yet delivered to the group) and the number of pending entries are
Prometheus gauges; events applied are a counter, all on the consumer's own registry.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Sequence
from typing import Any

import pandas as pd
import redis
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from modelyard.domain.features import PushSource, ValueType
from modelyard.errors import BackendUnavailable, InvalidInput
from modelyard.features.push import PushMode, push_targets
from modelyard.features.store import FeatureStore

logger = logging.getLogger(__name__)

Entry = tuple[str, dict[str, str]]


class StreamMetrics:
    """The consumer's series: lag and pending entries per stream and group, events applied."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        labels = ["stream", "group"]
        self.lag = Gauge(
            "modelyard_feature_stream_lag",
            "Stream entries not yet delivered to the group",
            labels,
            registry=self.registry,
        )
        self.pending = Gauge(
            "modelyard_feature_stream_pending",
            "Entries delivered to the group but not acknowledged",
            labels,
            registry=self.registry,
        )
        self.events = Counter(
            "modelyard_feature_stream_events",
            "Stream entries applied to the online store",
            labels,
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)


def _default_consumer() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class StreamConsumer:
    """Consumes ``stream`` into the views fed by push source ``source`` of ``store``."""

    def __init__(
        self,
        store: FeatureStore,
        redis_url: str,
        *,
        stream: str,
        source: str,
        group: str = "modelyard-features",
        consumer: str | None = None,
        batch_size: int = 500,
        block_ms: int = 1000,
        claim_idle_ms: int = 30_000,
        metrics: StreamMetrics | None = None,
    ) -> None:
        if batch_size < 1:
            raise InvalidInput(f"batch_size must be at least 1, got {batch_size}")
        self.store = store
        self.stream = stream
        self.source = source
        self.group = group
        self.consumer = consumer or _default_consumer()
        self.batch_size = batch_size
        self.block_ms = block_ms
        self.claim_idle_ms = claim_idle_ms
        self.metrics = metrics or StreamMetrics()
        self._client = redis.Redis.from_url(redis_url, decode_responses=True, socket_timeout=max(5.0, block_ms / 500))
        self._catalog = store.catalog()  # definitions change by apply; a restarted consumer reads them again
        self._push, _ = push_targets(self._catalog, source)
        self._stop = threading.Event()
        self._claim_cursor = "0-0"
        self._own_pending_done = False

    # -- group --------------------------------------------------------------------------------------

    def ensure_group(self) -> None:
        """Create the consumer group (reading the stream from its start) unless it exists."""
        try:
            self._client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise BackendUnavailable(f"cannot create consumer group {self.group!r}: {exc}") from exc
        except redis.RedisError as exc:
            raise BackendUnavailable(f"Redis is unreachable for stream {self.stream!r}: {exc}") from exc

    # -- one round ----------------------------------------------------------------------------------

    def poll(self) -> int:
        """Apply one batch: own pending entries first, then entries claimed from stalled consumers,
        then new ones (waiting up to ``block_ms``). Returns how many entries were applied."""
        try:
            entries = self._next_batch()
            if entries:
                self.apply(entries)
                self._client.xack(self.stream, self.group, *[entry_id for entry_id, _ in entries])
                self.metrics.events.labels(self.stream, self.group).inc(len(entries))
            self.update_lag()
        except redis.RedisError as exc:
            raise BackendUnavailable(f"reading stream {self.stream!r} failed: {exc}") from exc
        return len(entries)

    def _next_batch(self) -> list[Entry]:
        if not self._own_pending_done:
            own = self._read("0")
            if own:
                return own
            self._own_pending_done = True
        cursor, claimed, *_ = self._client.xautoclaim(
            self.stream, self.group, self.consumer, self.claim_idle_ms, self._claim_cursor, count=self.batch_size
        )
        self._claim_cursor = cursor
        live = [(entry_id, fields) for entry_id, fields in claimed if fields is not None]
        if live:
            return live
        return self._read(">", block=self.block_ms)

    def _read(self, start: str, *, block: int | None = None) -> list[Entry]:
        reply: Any = self._client.xreadgroup(
            self.group, self.consumer, {self.stream: start}, count=self.batch_size, block=block
        )
        if not reply:
            return []
        _, entries = reply[0]
        return [(entry_id, fields) for entry_id, fields in entries if fields]

    def apply(self, entries: Sequence[Entry]) -> None:
        """Write the entries' rows to the online store (idempotent: safe to repeat)."""
        frame = rows_of(self._push, [fields for _, fields in entries])
        ids = [entry_id for entry_id, _ in entries]
        self.store.push(self.source, frame, to=PushMode.ONLINE, event_ids=ids, catalog=self._catalog)

    def update_lag(self) -> int:
        """Refresh the lag and pending gauges; returns the lag."""
        lag, pending = 0, 0
        for info in self._client.xinfo_groups(self.stream):
            if info.get("name") == self.group:
                lag = int(info.get("lag") or 0)
                pending = int(info.get("pending") or 0)
        self.metrics.lag.labels(self.stream, self.group).set(lag)
        self.metrics.pending.labels(self.stream, self.group).set(pending)
        return lag

    # -- running --------------------------------------------------------------------------------------

    def run(self, *, until_idle: bool = False) -> int:
        """Poll until ``stop()`` (or, with ``until_idle``, until a poll finds nothing); returns the
        number of entries applied."""
        self.ensure_group()
        total = 0
        while not self._stop.is_set():
            applied = self.poll()
            total += applied
            if until_idle and applied == 0:
                break
        return total

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        self._client.close()


def rows_of(push: PushSource, entries: Sequence[dict[str, str]]) -> pd.DataFrame:
    """Stream fields (text) as a frame typed by the push source's schema; timestamps may be ISO
    8601 text or milliseconds since the epoch."""
    frame = pd.DataFrame(list(entries))
    if push.timestamp_field not in frame.columns:
        raise InvalidInput(f"stream entries lack the timestamp field {push.timestamp_field!r}")
    stamps = frame[push.timestamp_field]
    if stamps.str.fullmatch(r"\d+").all():
        frame[push.timestamp_field] = pd.to_datetime(stamps.astype("int64"), unit="ms", utc=True)
    else:
        frame[push.timestamp_field] = pd.to_datetime(stamps, utc=True, format="ISO8601")
    for field in push.schema:
        if field.name not in frame.columns:
            continue
        column = frame[field.name]
        if field.dtype in (ValueType.FLOAT64, ValueType.INT64):
            frame[field.name] = pd.to_numeric(column, errors="coerce")
        elif field.dtype is ValueType.BOOL:
            frame[field.name] = column.str.lower().isin(["1", "true", "yes"])
    return frame
