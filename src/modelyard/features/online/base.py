"""The online store's contract: the latest feature values per entity, and recent events.

An online store keeps, per feature view and entity key, only the **latest** row (its event time
in milliseconds and its values by feature name), written newer-wins so replays and out-of-order
writes never move a value back in time. For windowed aggregates it keeps the **events** of the
window, keyed by event id, so an event delivered twice is stored once (at-least-once delivery,
idempotent writes); aggregates are computed from them when read.

Implementations: ``SqliteOnlineStore`` (embedded default, a file beside the metadata store) and
``RedisOnlineStore`` (scale-out). Both pass the same tests.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Latest:
    """The latest row of one entity: event time (ms since the epoch, UTC) and values by feature."""

    ts_ms: int
    values: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Event:
    """One event of a view's source, for windowed aggregates."""

    key: str
    event_id: str
    ts_ms: int
    values: dict[str, Any]


class OnlineStore(Protocol):
    """What the features service needs of an online store. Implementations must be thread-safe.

    Example::

        store.write_latest("card_stats", [("[\\"42\\"]", 1_700_000_000_000, {"avg_amount": 12.5})])
        store.read_latest("card_stats", ["[\\"42\\"]"])  # [Latest(ts_ms=..., values={...})]
    """

    def write_latest(self, view: str, rows: Sequence[tuple[str, int, dict[str, Any]]]) -> None:
        """Keep each row unless the entity already has one with a later event time."""

    def read_latest(self, view: str, keys: Sequence[str]) -> list[Latest | None]:
        """The latest row of each key (``None`` where there is none), in the order of ``keys``."""

    def add_events(self, view: str, events: Sequence[Event]) -> None:
        """Store events; one already stored (same key and event id) is left as it is."""

    def read_events(self, view: str, keys: Sequence[str], after_ms: int, until_ms: int) -> list[list[Event]]:
        """Each key's events with ``after_ms < ts_ms <= until_ms``, in the order of ``keys``."""

    def prune_events(self, view: str, before_ms: int) -> None:
        """Drop events stamped before ``before_ms`` (no window reaches them any more)."""

    def clear(self, view: str) -> None:
        """Forget everything stored for ``view``."""

    def close(self) -> None: ...


def entity_key(values: Sequence[Any]) -> str:
    """The key of an entity: its join-key values as text, so ``42`` and ``"42"`` name one card."""
    return json.dumps([_text(v) for v in values], separators=(",", ":"))


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def encode_values(values: dict[str, Any]) -> str:
    return json.dumps(values, separators=(",", ":"), default=str, allow_nan=False)


def decode_values(text: str | bytes) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(text)
    return decoded
