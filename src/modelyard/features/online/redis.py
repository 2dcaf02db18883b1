"""The scale-out online store: Redis hashes for the latest rows, sorted sets for window events.

Keys: ``<prefix>l:<view>:<entity>`` is a hash ``{t: event ms, v: JSON values}``, written by a Lua
script that keeps the stored row when it is newer (one script call per 500 rows, one round trip
per batch);
``<prefix>e:<view>:<entity>`` is a sorted set of ``<event id>\\n<JSON values>`` scored by event
time, so re-adding a delivered event changes nothing. Reads of many entities are one pipeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis

from modelyard.errors import BackendUnavailable
from modelyard.features.online.base import Event, Latest, decode_values, encode_values

# One call writes a whole batch: per key, keep the stored row when it is newer (atomic per call).
_NEWER_WINS = """
local n = 0
for i, key in ipairs(KEYS) do
  local cur = redis.call('HGET', key, 't')
  if (not cur) or tonumber(ARGV[2 * i - 1]) >= tonumber(cur) then
    redis.call('HSET', key, 't', ARGV[2 * i - 1], 'v', ARGV[2 * i])
    n = n + 1
  end
end
return n
"""
# One call adds a batch of window events (a member already there is left as it is).
_ADD_EVENTS = """
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, ARGV[2 * i - 1], ARGV[2 * i])
end
return #KEYS
"""
_CHUNK = 500  # keys per script call: bounded work per call, so other clients are not held up
DEFAULT_PREFIX = "modelyard:features:"  # as DEFAULT_REDIS_PREFIX in the package


class RedisOnlineStore:
    """Online features in Redis (``redis://host:port/db``); ``prefix`` namespaces every key."""

    def __init__(self, url: str, *, prefix: str = DEFAULT_PREFIX) -> None:
        self.url = url
        self.prefix = prefix
        self._client = redis.Redis.from_url(url, socket_timeout=5.0, socket_connect_timeout=5.0)
        self._newer_wins = self._client.register_script(_NEWER_WINS)
        self._add_events = self._client.register_script(_ADD_EVENTS)

    def __repr__(self) -> str:
        return f"RedisOnlineStore(prefix={self.prefix!r})"

    def _latest_key(self, view: str, key: str) -> str:
        return f"{self.prefix}l:{view}:{key}"

    def _events_key(self, view: str, key: str) -> str:
        return f"{self.prefix}e:{view}:{key}"

    def write_latest(self, view: str, rows: Sequence[tuple[str, int, dict[str, Any]]]) -> None:
        if not rows:
            return
        try:
            pipe = self._client.pipeline(transaction=False)
            for start in range(0, len(rows), _CHUNK):
                chunk = rows[start : start + _CHUNK]
                args: list[Any] = []
                for _, ts, vals in chunk:
                    args += [int(ts), encode_values(vals)]
                self._newer_wins(keys=[self._latest_key(view, key) for key, _, _ in chunk], args=args, client=pipe)
            pipe.execute()
        except redis.RedisError as exc:
            raise BackendUnavailable(f"the Redis online store failed: {exc}") from exc

    def read_latest(self, view: str, keys: Sequence[str]) -> list[Latest | None]:
        if not keys:
            return []
        try:
            pipe = self._client.pipeline(transaction=False)
            for key in keys:
                pipe.hmget(self._latest_key(view, key), "t", "v")
            replies = pipe.execute()
        except redis.RedisError as exc:
            raise BackendUnavailable(f"the Redis online store failed: {exc}") from exc
        return [None if ts is None else Latest(ts_ms=int(ts), values=decode_values(vals)) for ts, vals in replies]

    def add_events(self, view: str, events: Sequence[Event]) -> None:
        if not events:
            return
        try:
            pipe = self._client.pipeline(transaction=False)
            for start in range(0, len(events), _CHUNK):
                chunk = events[start : start + _CHUNK]
                args: list[Any] = []
                for e in chunk:
                    args += [int(e.ts_ms), f"{e.event_id}\n{encode_values(e.values)}"]
                self._add_events(keys=[self._events_key(view, e.key) for e in chunk], args=args, client=pipe)
            pipe.execute()
        except redis.RedisError as exc:
            raise BackendUnavailable(f"the Redis online store failed: {exc}") from exc

    def read_events(self, view: str, keys: Sequence[str], after_ms: int, until_ms: int) -> list[list[Event]]:
        if not keys:
            return []
        try:
            pipe = self._client.pipeline(transaction=False)
            for key in keys:
                pipe.zrangebyscore(self._events_key(view, key), f"({int(after_ms)}", int(until_ms), withscores=True)
            replies = pipe.execute()
        except redis.RedisError as exc:
            raise BackendUnavailable(f"the Redis online store failed: {exc}") from exc
        out: list[list[Event]] = []
        for key, members in zip(keys, replies, strict=True):
            events = []
            for member, score in members:
                event_id, _, vals = member.decode().partition("\n")
                events.append(Event(key=key, event_id=event_id, ts_ms=int(score), values=decode_values(vals)))
            out.append(events)
        return out

    def prune_events(self, view: str, before_ms: int) -> None:
        try:
            for name in self._client.scan_iter(match=f"{self.prefix}e:{view}:*", count=1000):
                self._client.zremrangebyscore(name, "-inf", f"({int(before_ms)}")
        except redis.RedisError as exc:
            raise BackendUnavailable(f"the Redis online store failed: {exc}") from exc

    def clear(self, view: str) -> None:
        try:
            for kind in ("l", "e"):
                batch = []
                for name in self._client.scan_iter(match=f"{self.prefix}{kind}:{view}:*", count=1000):
                    batch.append(name)
                    if len(batch) >= 1000:
                        self._client.delete(*batch)
                        batch = []
                if batch:
                    self._client.delete(*batch)
        except redis.RedisError as exc:
            raise BackendUnavailable(f"the Redis online store failed: {exc}") from exc

    def close(self) -> None:
        self._client.close()
