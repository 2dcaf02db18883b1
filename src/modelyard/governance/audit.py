"""The audit trail: every service appends its state changes here, in the transaction that makes
them, and ``AuditService`` verifies, searches and exports the chain.

Verification replays the chain from the first event: each event's ``seq`` must follow the
previous one, its ``prev_hash`` must equal the previous event's ``hash``, and its ``hash`` must
be the SHA-256 of its own fields. The first link that fails is named, so an altered, removed or
reordered row is found. Removing events from the end, appending forged ones or rewriting the
chain from some event on cannot be seen from inside the database: with an ``AuditAnchor`` (which
``LocalBackend`` attaches) the chain is also checked against the checkpoints of its head kept in
the artifact store (see ``modelyard.governance.anchor`` for what that proves).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import IO, Any

from sqlalchemy import Connection

from modelyard.clock import SYSTEM_CLOCK, Clock
from modelyard.domain.governance import Actor, AuditEvent, ChainBreak, Permission
from modelyard.errors import Conflict
from modelyard.governance.access import guarded, require
from modelyard.governance.actors import ActorProvider, actor_provider
from modelyard.governance.anchor import AuditAnchor
from modelyard.store.db import Database
from modelyard.store.repos import audit as audit_rows


def append(
    conn: Connection,
    actor: Actor | str,
    action: str,
    object_kind: str,
    object_id: str,
    details: dict[str, Any] | None = None,
    *,
    now_ms: int,
) -> AuditEvent:
    """Append one event in the caller's transaction; the one function every service calls."""
    name = actor.name if isinstance(actor, Actor) else actor
    return audit_rows.append(
        conn,
        time_ms=now_ms,
        actor=name,
        action=action,
        object_kind=object_kind,
        object_id=str(object_id),
        details=details or {},
    )


def append_many(
    conn: Connection,
    actor: Actor | str,
    action: str,
    object_kind: str,
    objects: Sequence[tuple[str, dict[str, Any]]],
    *,
    now_ms: int,
) -> list[AuditEvent]:
    """Append one ``action`` event per ``(object_id, details)``, in order, in the caller's
    transaction: the same chain links as that many ``append`` calls, in one statement."""
    name = actor.name if isinstance(actor, Actor) else actor
    return audit_rows.append_many(
        conn, time_ms=now_ms, actor=name, action=action, object_kind=object_kind, objects=objects
    )


@dataclass(frozen=True, kw_only=True)
class VerifyResult:
    """What ``verify`` found: how many events, the head to anchor, and the first broken link."""

    events: int
    head_seq: int
    head_hash: str
    first_break: ChainBreak | None

    @property
    def ok(self) -> bool:
        return self.first_break is None


def verify_events(events: Iterable[AuditEvent]) -> VerifyResult:
    """Replay a chain (in the order given) and report the first broken link."""
    expected = 1
    prev = audit_rows.GENESIS_HASH
    count = 0
    for event in events:
        count += 1
        if event.seq != expected:
            reason = (
                f"event {expected} is missing (the next stored event is {event.seq})"
                if event.seq > expected
                else f"event {event.seq} appears out of order after event {expected - 1}"
            )
            return VerifyResult(events=count, head_seq=expected - 1, head_hash=prev, first_break=_at(expected, reason))
        if event.prev_hash != prev:
            reason = f"event {event.seq} does not link to event {event.seq - 1} (rows removed, reordered or altered)"
            return VerifyResult(events=count, head_seq=expected - 1, head_hash=prev, first_break=_at(event.seq, reason))
        recomputed = audit_rows.event_hash(
            seq=event.seq,
            time_ms=event.time_ms,
            actor=event.actor,
            action=event.action,
            object_kind=event.object_kind,
            object_id=event.object_id,
            details=event.details,
            prev_hash=event.prev_hash,
        )
        if recomputed != event.hash:
            reason = f"event {event.seq} was altered: its contents no longer match its hash"
            return VerifyResult(events=count, head_seq=expected - 1, head_hash=prev, first_break=_at(event.seq, reason))
        prev = event.hash
        expected += 1
    return VerifyResult(events=count, head_seq=expected - 1, head_hash=prev, first_break=None)


def _at(seq: int, reason: str) -> ChainBreak:
    return ChainBreak(seq=seq, reason=reason)


def event_to_dict(event: AuditEvent) -> dict[str, Any]:
    return asdict(event)


class AuditService:
    """Read side of the audit trail: verify, search, export."""

    def __init__(
        self,
        db: Database,
        actor: ActorProvider | str | None = None,
        clock: Clock = SYSTEM_CLOCK,
        *,
        anchor: AuditAnchor | None = None,
    ) -> None:
        self._db = db
        self._actor = actor_provider(actor)
        self._clock = clock
        self._anchor = anchor

    @property
    def anchored(self) -> bool:
        """Whether ``verify`` also checks the chain against checkpoints outside the database."""
        return self._anchor is not None

    def verify(self) -> VerifyResult:
        """Recompute the whole chain, then check it against the anchor's checkpoints (if any);
        ``first_break`` names the first bad link or disagreement."""
        with self._db.read() as conn:
            result = verify_events(audit_rows.iterate(conn))
            if result.ok and self._anchor is not None:
                found = self._anchor.check(audit_rows.iterate(conn))
                if found is not None:
                    result = replace(result, first_break=found)
        return result

    def anchor_head(self) -> VerifyResult:
        """Vouch for the chain as it is now: verify it link by link and checkpoint its head (admin).

        For a store whose events predate anchoring, or after a process died between its commit and
        its checkpoint, once someone has made sure the unanchored events are genuine.
        """
        if self._anchor is None:
            raise Conflict("this audit service has no anchor (open the store through modelyard to get one)")
        with guarded(self._db, self._clock) as conn:
            require(conn, self._actor(), Permission.MANAGE, now_ms=self._clock.now_ms())
            result = verify_events(audit_rows.iterate(conn))
        if result.first_break is not None:
            raise Conflict(
                f"the chain is broken at event {result.first_break.seq} ({result.first_break.reason}); "
                "refusing to anchor it"
            )
        if result.head_seq:
            self._anchor.checkpoint(result.head_seq, result.head_hash)
        return self.verify()

    def search(
        self,
        *,
        object_kind: str | None = None,
        object_id: str | None = None,
        actor: str | None = None,
        action: str | None = None,
        since_ms: int | None = None,
        limit: int | None = 1000,
    ) -> list[AuditEvent]:
        """Events about one object and/or by one actor, oldest first."""
        with guarded(self._db) as conn:
            require(conn, self._actor(), Permission.READ, now_ms=self._clock.now_ms())
        with self._db.read() as conn:
            return audit_rows.search(
                conn,
                object_kind=object_kind,
                object_id=object_id,
                actor=actor,
                action=action,
                since_ms=since_ms,
                limit=limit,
            )

    def export_jsonl(self, out: IO[str], *, since_ms: int | None = None) -> int:
        """Write events (from ``since_ms`` on) as JSON lines with their hashes; returns how many."""
        count = 0
        with self._db.read() as conn:
            for event in audit_rows.iterate(conn):
                if since_ms is not None and event.time_ms < since_ms:
                    continue
                out.write(json.dumps(event_to_dict(event), sort_keys=True) + "\n")
                count += 1
        return count
