"""Online stores: the latest feature values per entity for low-latency reads at serving time.

``open_online_store(uri)`` picks the implementation from the URI: ``sqlite:///path/online.db``
(the embedded default) or ``redis://host:port/db`` (scale-out; ``?prefix=...`` namespaces keys).
The Redis client is an optional dependency (``pip install modelyard[redis]``), imported only
when a Redis store is opened.
"""

from __future__ import annotations

import importlib
from urllib.parse import parse_qs, urlsplit, urlunsplit

from modelyard.errors import BackendUnavailable, InvalidInput
from modelyard.features.online.base import Event as Event
from modelyard.features.online.base import Latest as Latest
from modelyard.features.online.base import OnlineStore as OnlineStore
from modelyard.features.online.base import entity_key as entity_key
from modelyard.features.online.sqlite import SqliteOnlineStore as SqliteOnlineStore

DEFAULT_REDIS_PREFIX = "modelyard:features:"


def open_online_store(uri: str) -> OnlineStore:
    """The online store ``uri`` names (``sqlite:///...`` or ``redis://...``)."""
    if uri.startswith("sqlite:///"):
        return SqliteOnlineStore(uri.removeprefix("sqlite:///"))
    if uri.startswith(("redis://", "rediss://", "unix://")):
        try:
            module = importlib.import_module("modelyard.features.online.redis")
        except ModuleNotFoundError as exc:
            raise BackendUnavailable(
                "the Redis online store needs the redis client: pip install modelyard[redis]"
            ) from exc
        parts = urlsplit(uri)
        prefix = parse_qs(parts.query).get("prefix", [DEFAULT_REDIS_PREFIX])[0]
        store: OnlineStore = module.RedisOnlineStore(urlunsplit(parts._replace(query="")), prefix=prefix)
        return store
    raise InvalidInput(f"unsupported online store {uri!r}: use sqlite:///path or redis://host:port/db")


__all__ = ["Event", "Latest", "OnlineStore", "SqliteOnlineStore", "entity_key", "open_online_store"]
