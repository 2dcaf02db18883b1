"""PostgreSQL's write path: the pool checks only idle connections, the audit chain links under its
lock with the head read after the lock, and the metric tables carry no foreign keys (0014)."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import event, inspect, text

from modelyard.domain.tracking import Metric
from modelyard.store import db as db_module
from modelyard.store.db import Database
from modelyard.store.migration import ensure_schema
from modelyard.store.repos import audit as audit_rows
from modelyard.store.repos import metrics as metric_rows


@pytest.fixture
def pg(postgres_url_factory: Callable[..., str]) -> Iterator[Database]:
    db = Database(postgres_url_factory(migrated=True))
    ensure_schema(db)
    yield db
    db.dispose()


def _statements(db: Database) -> list[str]:
    seen: list[str] = []
    event.listen(db.engine, "before_cursor_execute", lambda *a: seen.append(a[2].strip()))
    return seen


def test_the_metric_tables_have_no_foreign_keys_on_postgresql(pg: Database) -> None:
    with pg.read() as conn:
        found = inspect(conn)
        assert found.get_foreign_keys("metrics") == []
        assert found.get_foreign_keys("latest_metrics") == []
        assert found.get_foreign_keys("params") != []  # only the metric tables lost theirs


def test_a_batch_and_its_latest_values_go_in_as_one_statement(pg: Database) -> None:
    batch = [Metric(key=f"k{i % 2}", value=float(i), timestamp=10 + i, step=i // 2) for i in range(10)]
    batch.append(Metric(key="k0", value=float("nan"), timestamp=1, step=0))  # older: not the latest
    seen = _statements(pg)
    with pg.begin() as conn:
        metric_rows.insert(conn, "r1", batch)
    assert len(seen) == 1 and seen[0].startswith("WITH")
    with pg.read() as conn:
        assert [m.step for m in metric_rows.history(conn, "r1", "k0")] == [0, 0, 1, 2, 3, 4]
        assert metric_rows.latest_values(conn, ["r1"]) == {"r1": {"k0": 8.0, "k1": 9.0}}
        assert metric_rows.count(conn, "r1") == 11


def test_keys_and_values_of_every_shape_survive_the_array_literals(pg: Database) -> None:
    """Keys with the characters an array literal treats specially; values at float's edges."""
    keys = ["a,b", "{x}", 'say "hi"', "back\\slash", "sp ace", "NULL", "ключ/ü"]
    values = [0.1, -0.0, 1e308, 5e-324, float("inf"), float("-inf"), 1 / 3]
    batch = [Metric(key=k, value=v, timestamp=2**62, step=-(2**62)) for k, v in zip(keys, values, strict=True)]
    with pg.begin() as conn:
        metric_rows.insert(conn, "r2", batch)
    with pg.read() as conn:
        stored = {k: metric_rows.history(conn, "r2", k) for k in keys}
        assert metric_rows.latest_values(conn, ["r2"])["r2"] == dict(zip(keys, values, strict=True))
    for key, value in zip(keys, values, strict=True):
        (point,) = stored[key]
        assert (point.value, repr(point.value), point.timestamp, point.step) == (value, repr(value), 2**62, -(2**62))


def test_pooled_connections_in_steady_use_are_not_pinged(pg: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """``pool_pre_ping`` sent a round trip (the dialect's ``do_ping``) before every transaction."""
    pings: list[object] = []
    monkeypatch.setattr(pg.engine.dialect, "do_ping", lambda dbapi_conn: pings.append(dbapi_conn) or True)
    for _ in range(3):
        with pg.read() as conn:
            conn.execute(text("SELECT 1"))
    assert pings == []


def test_a_connection_the_server_dropped_while_idle_is_replaced(pg: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    with pg.read() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_S", 0.0)  # every pooled connection counts as idle
    other = Database(pg.url)
    try:
        with other.begin() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    finally:
        other.dispose()
    with pg.read() as conn:  # the dead connection is found at checkout and replaced
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid


def test_concurrent_appends_link_one_chain(pg: Database) -> None:
    """Writers racing for the head: each reads it after the lock, so no two share a predecessor."""
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            for i in range(15):
                with pg.begin() as conn:
                    audit_rows.append(
                        conn, time_ms=i, actor=f"w{worker}", action="test.event", object_kind="test",
                        object_id=str(i), details={"i": i},
                    )  # fmt: skip
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with pg.read() as conn:
        events = list(audit_rows.iterate(conn))
    assert [e.seq for e in events] == list(range(1, 61))
    assert all(e.prev_hash == before.hash for before, e in itertools.pairwise(events))


def _append(db: Database, i: int) -> None:
    with db.begin() as conn:
        audit_rows.append(
            conn, time_ms=i, actor="a", action="test.event", object_kind="test", object_id=str(i), details={"i": i}
        )


def test_an_append_after_this_process_committed_the_head_is_one_statement(pg: Database) -> None:
    _append(pg, 1)  # the head is now known: the next append guesses it
    seen = _statements(pg)
    _append(pg, 2)
    assert len(seen) == 1 and "pg_advisory_xact_lock" in seen[0] and "ON CONFLICT (seq) DO NOTHING" in seen[0]


def test_appends_from_processes_whose_known_head_is_stale_still_link_one_chain(pg: Database) -> None:
    """Two engines (as two processes) take turns: each one's remembered head is always one behind,
    so every guess is refused and the append falls back to reading the head under the lock; two
    appends in one transaction refuse the second guess too (the first took its seq)."""
    other = Database(pg.url)
    try:
        for i in range(6):
            _append(pg if i % 2 else other, i)
        with pg.begin() as conn:
            for i in (100, 101):
                audit_rows.append(conn, time_ms=i, actor="a", action="t", object_kind="t", object_id="x", details={})
    finally:
        other.dispose()
    with pg.read() as conn:
        events = list(audit_rows.iterate(conn))
    assert [e.seq for e in events] == list(range(1, 9))
    assert events[0].prev_hash == audit_rows.GENESIS_HASH
    assert all(e.prev_hash == before.hash for before, e in itertools.pairwise(events))
    for e in events:
        assert e.hash == audit_rows.event_hash(
            seq=e.seq, time_ms=e.time_ms, actor=e.actor, action=e.action, object_kind=e.object_kind,
            object_id=e.object_id, details=e.details, prev_hash=e.prev_hash,
        )  # fmt: skip
