"""Anchoring the audit chain outside the database: checkpoints of its head in the artifact store.

The hash chain shows an edited, removed or reordered row, but a database writer can also delete
the newest rows, append forged ones, or rewrite every row from some event on and recompute the
hashes: all leave a chain that is consistent with itself. So after every transaction that appended
events commits, the new head (``seq`` and ``hash``) is written as a checkpoint to
``<artifact store>/_audit/checkpoints/<seq>.json``, where the database cannot reach, optionally
with an HMAC-SHA256 over it keyed by ``MODELYARD_AUDIT_KEY`` (a key the database never holds).
``audit verify`` then checks the chain against every checkpoint:

- a checkpoint beyond the chain's last event: events were deleted from the end (truncation);
- a checkpoint whose event now has another hash: the chain was rewritten from that event or before;
- events after the newest checkpoint: appended outside modelyard (a process that dies between its
  commit and its checkpoint leaves the same sign, for its own events only);
- with a key, a checkpoint without a valid HMAC: forged or altered.

What it proves: the chain up to the newest checkpoint is the one modelyard wrote, unless someone
could write both the database and the artifact store (and, with a key, also held the key). Each
anchor (one per open store in a process) overwrites one file of its own in place, so the folder keeps
one file per process that ever wrote; ``verify`` reads them all. A checkpoint follows every governed
commit, so it costs one small write: no rename, no removal, no folder check.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from modelyard.domain.governance import AuditEvent, ChainBreak
from modelyard.store.artifacts import ArtifactStore
from modelyard.store.db import Database
from modelyard.store.repos import audit as audit_rows

logger = logging.getLogger(__name__)

CHECKPOINT_FOLDER = "_audit/checkpoints"


@dataclass(frozen=True, kw_only=True)
class Checkpoint:
    """The chain's head as modelyard saw it after a commit."""

    seq: int
    hash: str
    signature: str | None = None


class AuditAnchor:
    """Writes and reads the checkpoints of one store's audit chain."""

    def __init__(self, artifacts: ArtifactStore, key: str | None = None) -> None:
        self._artifacts = artifacts
        self._key = key.encode("utf-8") if key else None
        self._newest = 0  # the head this anchor last wrote: an older one never overwrites it
        self._name = f"{uuid.uuid4().hex}.json"
        self._pid = os.getpid()
        self._lock = threading.Lock()  # threads of one process share the file

    @property
    def signed(self) -> bool:
        return self._key is not None

    def attach(self, db: Database) -> None:
        """Checkpoint the head after every committed transaction of ``db`` that appended events."""
        audit_rows.on_committed_head(db.engine, self.checkpoint)

    def checkpoint(self, seq: int, head_hash: str) -> None:
        """Write the checkpoint of head ``seq``; a failure is logged, never raised (the change it
        follows has committed), and shows as unanchored events in ``verify``."""
        body = {"seq": seq, "hash": head_hash}
        if self._key is not None:
            body["hmac"] = self._sign(seq, head_hash)
        data = json.dumps(body, sort_keys=True).encode("utf-8")
        try:
            with self._lock:
                name = self._file_name()
                if seq < self._newest:  # another thread's later commit got here first
                    return
                self._write(name, data)
                self._newest = seq
        except OSError as exc:
            logger.warning("could not checkpoint the audit chain at event %d: %s", seq, exc)

    def checkpoints(self) -> list[Checkpoint]:
        """Every checkpoint stored, oldest first (unreadable files count as unsigned garbage)."""
        found = []
        for entry in self._artifacts.list(self._artifacts.root_uri, CHECKPOINT_FOLDER):
            if entry.is_dir or not entry.path.endswith(".json"):
                continue
            found.append(self._read(entry.path))
        return sorted(found, key=lambda c: c.seq)

    def check(self, events: Iterable[AuditEvent]) -> ChainBreak | None:
        """The first way the chain (already verified link by link) disagrees with the checkpoints."""
        checkpoints = self.checkpoints()
        if self._key is not None:
            for c in checkpoints:
                if c.signature is None or not hmac.compare_digest(c.signature, self._sign(c.seq, c.hash)):
                    return ChainBreak(seq=max(c.seq, 0), reason=f"checkpoint {c.seq} is not signed with the audit key")
        wanted = {c.seq: c.hash for c in checkpoints}
        head = 0
        for event in events:
            head = event.seq
            expected = wanted.get(event.seq)
            if expected is not None and expected != event.hash:
                return ChainBreak(
                    seq=event.seq,
                    reason=f"event {event.seq} differs from its checkpoint: the chain was rewritten from "
                    f"event {event.seq} or earlier",
                )
        newest = max(wanted, default=0)
        if newest > head:
            return ChainBreak(
                seq=head + 1,
                reason=f"the chain ends at event {head} but was checkpointed at event {newest}: "
                f"events {head + 1}-{newest} were removed",
            )
        if head > newest:
            since = "no checkpoint" if newest == 0 else f"the newest checkpoint (event {newest})"
            return ChainBreak(
                seq=newest + 1,
                reason=f"events {newest + 1}-{head} come after {since}: they were not appended by "
                "modelyard (or its process died before checkpointing)",
            )
        return None

    def _read(self, path: str) -> Checkpoint:
        """One checkpoint file; unreadable ones count as unsigned garbage (read twice: a read that
        met a write in progress sees a whole record the second time)."""
        for _ in range(2):
            try:
                data = json.loads(self._artifacts.read_bytes(self._artifacts.root_uri, path))
                return Checkpoint(seq=int(data["seq"]), hash=str(data["hash"]), signature=data.get("hmac"))
            except (ValueError, KeyError, TypeError):
                continue
        return Checkpoint(seq=-1, hash="", signature=None)

    def _sign(self, seq: int, head_hash: str) -> str:
        assert self._key is not None
        return hmac.new(self._key, f"{seq}:{head_hash}".encode(), hashlib.sha256).hexdigest()

    def _write(self, name: str, data: bytes) -> None:
        rel = f"{CHECKPOINT_FOLDER}/{name}"
        if not self._artifacts.is_local:
            self._artifacts.put_bytes(self._artifacts.root_uri, rel, data)
            return
        # Local: overwrite the record in place, padded to one fixed size so that the file never
        # shrinks and needs no truncation, without fsync: a checkpoint guards against tampering,
        # and the page cache outlives a killed process. Not write-then-rename: ext4 flushes the
        # new file's blocks on a rename over an existing one, 0.75 ms per governed commit.
        folder = os.path.join(self._artifacts.root_uri, CHECKPOINT_FOLDER)
        path = os.path.join(folder, name)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        except FileNotFoundError:  # the first checkpoint of this store
            Path(folder).mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            os.pwrite(fd, data.ljust(_RECORD_BYTES), 0)
        finally:
            os.close(fd)

    def _file_name(self) -> str:
        """This process's file: a forked child writes its own, never over its parent's newer head."""
        if self._pid != os.getpid():
            self._pid, self._name, self._newest = os.getpid(), f"{uuid.uuid4().hex}.json", 0
        return self._name


_RECORD_BYTES = 512  # a checkpoint's JSON is under 200 bytes; trailing spaces are valid JSON
