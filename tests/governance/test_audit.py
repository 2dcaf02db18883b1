"""The audit chain on both engines: appended with changes, refused UPDATE/DELETE, and verify
naming the first broken link when a row is altered, removed or reordered (tampered with raw SQL
after dropping the trigger, as an attacker with database access would)."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from modelyard.store.db import Database
from tests.governance.conftest import ADMIN, World


def _chain(world: World) -> Database:
    world.train()
    world.backend.model_versions.set_tag("churn", 1, "team", "risk")
    world.backend.stages.transition("churn", 1, "Staging")
    assert world.as_user(ADMIN).audit.verify().ok
    return world.backend.db


def _drop_trigger(db: Database) -> None:
    with db.begin() as conn:
        if db.is_sqlite:
            conn.execute(text("DROP TRIGGER audit_events_no_update"))
            conn.execute(text("DROP TRIGGER audit_events_no_delete"))
        else:
            conn.execute(text("DROP TRIGGER audit_events_append_only ON audit_events"))


def _seq_of(db: Database, action: str) -> int:
    with db.read() as conn:
        found = conn.execute(text("SELECT min(seq) FROM audit_events WHERE action = :a"), {"a": action})
        return int(found.scalar_one())


def test_changes_are_audited_with_actor_and_object(world: World) -> None:
    _chain(world)
    events = world.as_user(ADMIN).audit.search(object_kind="model_version", object_id="churn/1")
    assert [e.action for e in events] == [
        "model_version.created",
        "model_version.tag_set",
        "model_version.stage_changed",
    ]
    assert {e.actor for e in events} == {ADMIN}
    assert events[1].details == {"tags": {"team": "risk"}}


def test_store_refuses_update_and_delete(world: World) -> None:
    db = _chain(world)
    for statement in ("UPDATE audit_events SET actor = 'mallory'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"), db.begin() as conn:
            conn.execute(text(statement))
    assert world.as_user(ADMIN).audit.verify().ok


def test_altered_row_is_found(world: World) -> None:
    db = _chain(world)
    target = _seq_of(db, "model_version.tag_set")
    _drop_trigger(db)
    with db.begin() as conn:
        conn.execute(text("UPDATE audit_events SET details = :d WHERE seq = :s"), {"d": '{"tags":{}}', "s": target})
    result = world.as_user(ADMIN).audit.verify()
    assert result.first_break is not None
    assert (result.first_break.seq, "altered" in result.first_break.reason) == (target, True)


def test_removed_row_is_found(world: World) -> None:
    db = _chain(world)
    target = _seq_of(db, "model_version.tag_set")
    _drop_trigger(db)
    with db.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq = :s"), {"s": target})
    result = world.as_user(ADMIN).audit.verify()
    assert result.first_break is not None
    assert result.first_break.seq == target
    assert "missing" in result.first_break.reason


def test_reordered_rows_are_found(world: World) -> None:
    db = _chain(world)
    a, b = _seq_of(db, "model_version.created"), _seq_of(db, "model_version.tag_set")
    _drop_trigger(db)
    with db.begin() as conn:  # swap the two events' positions in the chain
        conn.execute(text("UPDATE audit_events SET seq = -1 WHERE seq = :a"), {"a": a})
        conn.execute(text("UPDATE audit_events SET seq = :a WHERE seq = :b"), {"a": a, "b": b})
        conn.execute(text("UPDATE audit_events SET seq = :b WHERE seq = -1"), {"b": b})
    result = world.as_user(ADMIN).audit.verify()
    assert result.first_break is not None
    assert result.first_break.seq == a


def test_export_jsonl_since(world: World) -> None:
    _chain(world)
    admin = world.as_user(ADMIN).audit
    events = admin.search(limit=None)
    cut = events[len(events) // 2].time_ms
    out = io.StringIO()
    count = admin.export_jsonl(out, since_ms=cut)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert count == len(lines) == len([e for e in events if e.time_ms >= cut]) > 0
    assert all({"seq", "hash", "prev_hash", "actor", "action"} <= set(line) for line in lines)


def test_tracking_and_dataset_changes_are_audited(world: World) -> None:
    b = world.backend
    experiment_id = b.experiments.create("audited")
    run = b.runs.create(experiment_id, user=ADMIN).info.run_id
    b.runs.log_params(run, {"lr": "0.1"})
    b.datasets.log(pd.DataFrame({"a": [1, 2]}), "tiny", run_id=run, user=ADMIN)
    b.runs.end(run)
    b.runs.delete(run)
    b.experiments.delete(experiment_id)
    audit = world.as_user(ADMIN).audit
    assert [e.action for e in audit.search(object_kind="run", object_id=run)] == [
        "run.created",
        "run.params_logged",
        "run.ended",
        "run.deleted",
    ]
    assert [e.action for e in audit.search(object_kind="experiment", object_id=experiment_id)] == [
        "experiment.created",
        "experiment.deleted",
    ]
    (logged,) = audit.search(action="dataset_version.logged")
    assert logged.details["run_id"] == run and logged.actor == ADMIN
    assert audit.verify().ok
