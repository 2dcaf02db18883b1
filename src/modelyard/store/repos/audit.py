"""The audit chain: append one event (serialised, hashed over the previous hash) and read back.

Appends serialise so two writers never link to the same predecessor: on PostgreSQL a transaction
advisory lock, on SQLite the write transaction itself (``BEGIN IMMEDIATE`` holds the one write
lock). The hash is SHA-256 over a canonical JSON of every field but the hash itself.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from typing import Any

from sqlalchemy import Connection, Engine, Row, select, text

from modelyard.domain.governance import AuditEvent
from modelyard.store.db import after_commit
from modelyard.store.repos import _pg_bulk
from modelyard.store.tables.governance import audit_events

GENESIS_HASH = "0" * 64
_PG_AUDIT_LOCK = 7_345_202_612  # an arbitrary constant: "modelyard audit chain" advisory lock

# Built once and reused: every governed write appends, and building these per call (the INSERT's
# ``.values`` especially) cost SQLAlchemy more than the database spent running them.
_LOCK = text("SELECT pg_advisory_xact_lock(:key)")
_HEAD = select(audit_events.c.seq, audit_events.c.hash).order_by(audit_events.c.seq.desc()).limit(1)
_INSERT = audit_events.insert()

HeadListener = Callable[[int, str], None]
_listeners: weakref.WeakKeyDictionary[Engine, HeadListener] = weakref.WeakKeyDictionary()


def on_committed_head(engine: Engine, listener: HeadListener | None) -> None:
    """Call ``listener(seq, hash)`` with the chain's new head after each transaction on ``engine``
    that appended events commits (``None`` stops it). How the chain gets anchored outside the
    database without the services that append knowing about it."""
    if listener is None:
        _listeners.pop(engine, None)
    else:
        _listeners[engine] = listener


def event_hash(
    *,
    seq: int,
    time_ms: int,
    actor: str,
    action: str,
    object_kind: str,
    object_id: str,
    details: dict[str, Any],
    prev_hash: str,
) -> str:
    """SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8) of the event's fields."""
    canonical = json.dumps(
        {
            "seq": seq,
            "time": time_ms,
            "actor": actor,
            "action": action,
            "object": {"kind": object_kind, "id": object_id},
            "details": details,
            "prev_hash": prev_hash,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def lock_chain(conn: Connection) -> None:
    """Hold the chain's lock until the caller's transaction ends (re-entrant within it).

    On SQLite the write transaction already excludes every other writer; on PostgreSQL this is a
    transaction-scoped advisory lock, which callers may also take to serialise a check-then-insert.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(_LOCK, {"key": _PG_AUDIT_LOCK})


_PG_LOCK = "SELECT pg_advisory_xact_lock(%s)"
_PG_HEAD = "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1"


def _locked_head(conn: Connection) -> tuple[int, str] | None:
    """Take the chain's lock, then read its head (seq, hash): on PostgreSQL both in one round trip
    (pipelined; the head is read by a statement of its own, after the lock was granted)."""
    if conn.dialect.name == "postgresql":
        rows = _pg_bulk.pipelined(conn, [(_PG_LOCK, (_PG_AUDIT_LOCK,)), (_PG_HEAD, ())])
        return (int(rows[0][0]), str(rows[0][1])) if rows else None
    head = conn.execute(_HEAD).first()
    return None if head is None else (int(head.seq), str(head.hash))


# The head this process last saw committed, per engine: on PostgreSQL an append first guesses that
# it is still the head and links to it in one statement that takes the lock and inserts; the
# primary key on ``seq`` refuses the guess when another link took ``seq`` meanwhile (or this
# transaction already appended), and the append then reads the head under the lock as before.
# The cache only ever holds committed links, so a guess is either right or refused, never wrong.
_committed_heads: weakref.WeakKeyDictionary[Engine, tuple[int, str]] = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()

_PG_GUESSED_INSERT = """
WITH locked AS (SELECT pg_advisory_xact_lock(%s))
INSERT INTO audit_events (seq, time_ms, actor, action, object_kind, object_id, details, prev_hash, hash)
SELECT %s, %s, %s, %s, %s, %s, %s, %s, %s FROM locked
ON CONFLICT (seq) DO NOTHING RETURNING seq
"""


def _remember(engine: Engine, seq: int, digest: str) -> None:
    with _cache_lock:
        known = _committed_heads.get(engine)
        if known is None or known[0] < seq:
            _committed_heads[engine] = (seq, digest)


def append(
    conn: Connection,
    *,
    time_ms: int,
    actor: str,
    action: str,
    object_kind: str,
    object_id: str,
    details: dict[str, Any],
) -> AuditEvent:
    """Link one event to the chain's head inside the caller's transaction: on PostgreSQL in one
    round trip when the head is the one this process last committed, else in three."""
    # Round-trip details through JSON so what is hashed is exactly what verify reads back.
    clean = json.loads(json.dumps(details, sort_keys=True, default=str))
    stored_details = json.dumps(clean, sort_keys=True)

    def link(seq: int, prev: str) -> AuditEvent:
        digest = event_hash(
            seq=seq, time_ms=time_ms, actor=actor, action=action, object_kind=object_kind,
            object_id=object_id, details=clean, prev_hash=prev,
        )  # fmt: skip
        return AuditEvent(
            seq=seq, time_ms=time_ms, actor=actor, action=action, object_kind=object_kind,
            object_id=object_id, details=clean, prev_hash=prev, hash=digest,
        )  # fmt: skip

    event: AuditEvent | None = None
    guess = _committed_heads.get(conn.engine) if conn.dialect.name == "postgresql" else None
    if guess is not None:
        tried = link(guess[0] + 1, guess[1])
        row = (tried.seq, time_ms, actor, action, object_kind, object_id, stored_details, tried.prev_hash, tried.hash)
        if _pg_bulk.fetch(conn, _PG_GUESSED_INSERT, (_PG_AUDIT_LOCK, *row)):
            event = tried
    if event is None:
        head = _locked_head(conn)
        event = link(1, GENESIS_HASH) if head is None else link(head[0] + 1, head[1])
        conn.execute(
            _INSERT,
            {
                "seq": event.seq,
                "time_ms": time_ms,
                "actor": actor,
                "action": action,
                "object_kind": object_kind,
                "object_id": object_id,
                "details": stored_details,
                "prev_hash": event.prev_hash,
                "hash": event.hash,
            },
        )
    _on_commit_announce(conn, event)
    return event


def append_many(
    conn: Connection,
    *,
    time_ms: int,
    actor: str,
    action: str,
    object_kind: str,
    objects: Sequence[tuple[str, dict[str, Any]]],
) -> list[AuditEvent]:
    """Link one event per ``(object_id, details)`` in order, under one lock and one head read,
    inserted by one statement: what a purge of hundreds of runs per transaction appends (one
    ``append`` each cost three round trips on PostgreSQL)."""
    if not objects:
        return []
    head = _locked_head(conn)
    seq, prev = (0, GENESIS_HASH) if head is None else head
    events: list[AuditEvent] = []
    for object_id, details in objects:
        clean = json.loads(json.dumps(details, sort_keys=True, default=str))
        seq += 1
        fields = {"seq": seq, "time_ms": time_ms, "actor": actor, "action": action, "object_kind": object_kind,
                  "object_id": object_id, "details": clean, "prev_hash": prev}  # fmt: skip
        prev = event_hash(**fields)
        events.append(AuditEvent(**fields, hash=prev))
    rows = [{**asdict(e), "details": json.dumps(e.details, sort_keys=True)} for e in events]
    conn.execute(_INSERT, rows)
    _on_commit_announce(conn, events[-1])
    return events


def _on_commit_announce(conn: Connection, head: AuditEvent) -> None:
    """Once the transaction commits: remember ``head`` as this process's last committed link, and
    hand it to the engine's head listener (the anchor's checkpoint)."""
    engine = conn.engine
    after_commit(conn, "audit.cache", functools.partial(_remember, engine, head.seq, head.hash))
    listener = _listeners.get(engine)
    if listener is not None:
        after_commit(conn, "audit.head", functools.partial(listener, head.seq, head.hash))


def iterate(conn: Connection, *, batch: int = 5000) -> Iterator[AuditEvent]:
    """Every event in sequence order, read in pages so a long chain is not held in memory."""
    after = 0
    while True:
        rows = conn.execute(
            select(audit_events).where(audit_events.c.seq > after).order_by(audit_events.c.seq).limit(batch)
        ).all()
        if not rows:
            return
        for row in rows:
            yield _event(row)
        after = int(rows[-1].seq)


def search(
    conn: Connection,
    *,
    object_kind: str | None = None,
    object_id: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    since_ms: int | None = None,
    limit: int | None = None,
) -> list[AuditEvent]:
    """Events matching every given condition, oldest first."""
    query = select(audit_events).order_by(audit_events.c.seq)
    if object_kind is not None:
        query = query.where(audit_events.c.object_kind == object_kind)
    if object_id is not None:
        query = query.where(audit_events.c.object_id == object_id)
    if actor is not None:
        query = query.where(audit_events.c.actor == actor)
    if action is not None:
        query = query.where(audit_events.c.action == action)
    if since_ms is not None:
        query = query.where(audit_events.c.time_ms >= since_ms)
    if limit is not None:
        query = query.limit(limit)
    return [_event(row) for row in conn.execute(query)]


def _event(row: Row) -> AuditEvent:  # type: ignore[type-arg]
    return AuditEvent(
        seq=int(row.seq),
        time_ms=int(row.time_ms),
        actor=row.actor,
        action=row.action,
        object_kind=row.object_kind,
        object_id=row.object_id,
        details=json.loads(row.details),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )
