"""The audit chain anchored outside the database, on both engines: what a database writer can do
to a chain that stays consistent with itself (cut its end, append a forged event, rewrite it from
an event on with recomputed hashes) is caught against the checkpoints in the artifact store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text

from modelyard.config import Settings
from modelyard.errors import PermissionDenied
from modelyard.governance import AuditAnchor, AuditService
from modelyard.governance.anchor import CHECKPOINT_FOLDER
from modelyard.sdk.backends.local import LocalBackend
from modelyard.store.db import Database
from modelyard.store.repos import audit as audit_rows
from tests.governance.conftest import ADMIN, World
from tests.governance.test_audit import _chain, _drop_trigger


def _outside(world: World) -> Database:
    """The store as a database writer reaches it: its own engine, no modelyard anchor attached."""
    return Database(world.backend.settings.store_uri)


def _head(world: World) -> int:
    return world.backend.audit.verify().head_seq


def test_every_commit_is_checkpointed_and_verify_matches(world: World) -> None:
    _chain(world)
    result = world.backend.audit.verify()
    assert result.ok and world.backend.audit.anchored
    anchor = AuditAnchor(world.backend.artifact_store)
    assert max(c.seq for c in anchor.checkpoints()) == result.head_seq
    assert len(anchor.checkpoints()) == 1  # a process keeps one checkpoint, not one per commit


def test_truncation_is_caught(world: World) -> None:
    db = _chain(world)
    head = _head(world)
    _drop_trigger(db)
    with db.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq >= :s"), {"s": head - 1})
    assert world.as_user(ADMIN).audit.verify().ok  # the chain alone cannot tell
    result = world.backend.audit.verify()
    assert result.first_break is not None
    assert f"events {head - 1}-{head} were removed" in result.first_break.reason


def test_appended_forgery_is_caught(world: World) -> None:
    _chain(world)
    head = _head(world)
    outside = _outside(world)
    with outside.begin() as conn:  # correctly linked and hashed, but not appended by modelyard
        audit_rows.append(
            conn, time_ms=1, actor=ADMIN, action="role.granted", object_kind="user", object_id="mallory",
            details={"role": "admin"},
        )  # fmt: skip
    outside.dispose()
    result = world.backend.audit.verify()
    assert result.first_break is not None and result.first_break.seq == head + 1
    assert "not appended by modelyard" in result.first_break.reason


def test_rewrite_from_an_event_on_is_caught(world: World) -> None:
    db = _chain(world)
    head = _head(world)
    with db.read() as conn:
        tail = [e for e in audit_rows.iterate(conn) if e.seq >= head - 2]
    _drop_trigger(db)
    outside = _outside(world)
    with outside.begin() as conn:  # remove the last three events, append them again as someone else
        conn.execute(text("DELETE FROM audit_events WHERE seq >= :s"), {"s": head - 2})
        for e in tail:
            audit_rows.append(
                conn, time_ms=e.time_ms, actor="mallory", action=e.action, object_kind=e.object_kind,
                object_id=e.object_id, details=e.details,
            )  # fmt: skip
    outside.dispose()
    assert world.as_user(ADMIN).audit.verify().ok  # consistent with itself
    result = world.backend.audit.verify()
    assert result.first_break is not None and result.first_break.seq == head
    assert "rewritten" in result.first_break.reason


def test_signed_checkpoints_refuse_a_forged_one(settings: Settings, tmp_path: Path) -> None:
    keyed = settings.model_copy(update={"user": ADMIN, "audit_key": "not-in-the-database"})
    backend = LocalBackend.open(keyed)
    try:
        backend.experiments.create("signed")
        assert backend.audit.verify().ok
        folder = Path(backend.artifact_store.root_uri) / CHECKPOINT_FOLDER
        (forged,) = folder.iterdir()
        body = json.loads(forged.read_text())
        forged.write_text(json.dumps({"seq": body["seq"], "hash": body["hash"], "hmac": "0" * 64}))
        result = backend.audit.verify()
        assert result.first_break is not None and "not signed with the audit key" in result.first_break.reason
        wrong_key = AuditService(backend.db, ADMIN, anchor=AuditAnchor(backend.artifact_store, "another key"))
        forged.write_text(json.dumps(body))
        assert backend.audit.verify().ok
        assert not wrong_key.verify().ok
    finally:
        backend.db.dispose()


def test_anchor_vouches_for_events_that_predate_checkpoints(world: World) -> None:
    _chain(world)
    for checkpoint in (Path(world.backend.artifact_store.root_uri) / CHECKPOINT_FOLDER).iterdir():
        checkpoint.unlink()  # as a store written before anchoring existed
    result = world.backend.audit.verify()
    assert result.first_break is not None and "after no checkpoint" in result.first_break.reason
    with pytest.raises(PermissionDenied):
        AuditService(world.backend.db, "viewer-vic", anchor=AuditAnchor(world.backend.artifact_store)).anchor_head()
    assert world.backend.audit.anchor_head().ok
    assert world.backend.audit.verify().ok


def test_a_checkpoint_is_overwritten_in_place_and_never_moves_back(tmp_path: Path) -> None:
    from modelyard.store.artifacts import ArtifactStore

    anchor = AuditAnchor(ArtifactStore(str(tmp_path)))
    anchor.checkpoint(7, "a" * 64)
    anchor.checkpoint(9, "b" * 64)
    anchor.checkpoint(8, "c" * 64)  # a thread whose commit came first, checkpointing last
    (only,) = anchor.checkpoints()
    assert (only.seq, only.hash) == (9, "b" * 64)
    (file,) = (tmp_path / CHECKPOINT_FOLDER).iterdir()
    assert json.loads(file.read_bytes()) == {"seq": 9, "hash": "b" * 64}  # padding is valid JSON


def test_a_forked_child_checkpoints_in_a_file_of_its_own(tmp_path: Path) -> None:
    import os

    from modelyard.store.artifacts import ArtifactStore

    anchor = AuditAnchor(ArtifactStore(str(tmp_path)))
    anchor.checkpoint(20, "p" * 64)
    pid = os.fork()
    if pid == 0:  # the child's older head must not overwrite the parent's newer one
        anchor.checkpoint(12, "c" * 64)
        os._exit(0)
    os.waitpid(pid, 0)
    assert sorted((c.seq, c.hash) for c in anchor.checkpoints()) == [(12, "c" * 64), (20, "p" * 64)]
