"""The online store on SQLite and on the real Redis: materialize, incremental loads, lookups, and
the same values online as offline for the same entity and time."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from modelyard.features import FeatureStore, SqliteOnlineStore
from modelyard.features.online.base import Event, OnlineStore
from tests.features.conftest import T0, card_world, redis_url


@pytest.fixture(params=["sqlite", "redis"])
def online(request: pytest.FixtureRequest, tmp_path: Path) -> OnlineStore:
    if request.param == "sqlite":
        return SqliteOnlineStore(tmp_path / "online.db")
    from modelyard.features.online.redis import RedisOnlineStore

    return RedisOnlineStore(redis_url(), prefix=request.getfixturevalue("redis_prefix"))


@pytest.fixture
def world(make_store: Callable[..., FeatureStore], online: OnlineStore, tmp_path: Path) -> FeatureStore:
    store = make_store(online)
    store.apply(card_world(tmp_path))
    return store


def test_writes_keep_the_newest_row_and_events_are_stored_once(online: OnlineStore) -> None:
    online.write_latest("v", [("k", 200, {"x": 2.0})])
    online.write_latest("v", [("k", 100, {"x": 1.0}), ("j", 50, {"x": 5.0})])  # older: ignored
    latest = online.read_latest("v", ["k", "j", "missing"])
    assert latest[0] is not None and latest[0].values == {"x": 2.0} and latest[0].ts_ms == 200
    assert latest[1] is not None and latest[1].values == {"x": 5.0}
    assert latest[2] is None
    event = Event(key="k", event_id="e1", ts_ms=150, values={"amount": 3.0})
    online.add_events("v", [event, event])
    online.add_events("v", [event, Event(key="k", event_id="e2", ts_ms=300, values={"amount": 4.0})])
    assert [e.event_id for e in online.read_events("v", ["k"], 100, 300)[0]] == ["e1", "e2"]
    assert [e.event_id for e in online.read_events("v", ["k"], 150, 300)[0]] == ["e2"]  # start is exclusive
    online.prune_events("v", 200)
    assert [e.event_id for e in online.read_events("v", ["k"], 0, 1000)[0]] == ["e2"]
    online.clear("v")
    assert online.read_latest("v", ["k"]) == [None]


def test_materialize_then_read_online(world: FeatureStore) -> None:
    at = T0 + timedelta(hours=2)
    results = world.materialize(T0 - timedelta(days=1), at)
    by_view = {r.view: r for r in results}
    # the window events loaded are those of the last hour before the end: the 90-minute one
    assert by_view["card_profile"].rows == 2 and by_view["card_activity"].events == 1
    out = world.get_online_features(
        [{"card_id": 1, "request_amount": 50.0}, {"card_id": 2, "request_amount": 50.0}, {"card_id": 3}],
        ["card_profile:credit_limit", "card_activity", "tx_ratio:amount_to_limit"],
        at=at,
    )
    assert out["credit_limit"].tolist()[:2] == [1000.0, 500.0] and math.isnan(out["credit_limit"][2])
    assert out["amount_count_1h"].tolist() == [1, 0, 0]  # card 1's 90-minute transaction only
    assert out["amount_sum_1h"].tolist() == [40.0, 0.0, 0.0]
    assert out["amount_to_limit"].tolist()[:2] == [0.05, 0.1]


def test_online_values_equal_offline_values_for_the_same_entity_and_time(world: FeatureStore) -> None:
    refs = ["card_profile", "card_activity"]
    for hours in (1.5, 2.0, 6.0):
        at = T0 + timedelta(hours=hours)
        world.materialize(T0 - timedelta(days=1), at + timedelta(milliseconds=1))
        online = world.get_online_features([{"card_id": 1}, {"card_id": 2}], refs, at=at)
        entities = pd.DataFrame({"card_id": [1, 2], "event_timestamp": [at, at]})
        offline = world.get_historical_features(entities, refs).to_pandas()
        for column in ("credit_limit", "segment", "amount", "amount_count_1h", "amount_sum_1h"):
            assert (
                online[column].astype(object).where(online[column].notna(), None).tolist()
                == offline[column].astype(object).where(offline[column].notna(), None).tolist()
            ), (column, hours)


def test_ttl_applies_online(world: FeatureStore) -> None:
    world.materialize(T0 - timedelta(days=1), T0 + timedelta(hours=1))
    fresh = world.get_online_features({"card_id": 2}, ["card_profile:credit_limit"], at=T0 + timedelta(days=1))
    stale = world.get_online_features(
        {"card_id": 2}, ["card_profile:credit_limit"], at=T0 + timedelta(days=1, milliseconds=1)
    )
    assert fresh["credit_limit"][0] == 500.0 and math.isnan(stale["credit_limit"][0])


def test_materialize_incremental_moves_a_watermark(world: FeatureStore) -> None:
    first = world.materialize_incremental(T0 + timedelta(hours=1), views=["card_profile"])
    assert first[0].rows == 2 and world.registry.watermark("card_profile") is not None
    again = world.materialize_incremental(T0 + timedelta(hours=1), views=["card_profile"])
    assert again[0].rows == 0  # nothing new since the watermark
    later = world.materialize_incremental(T0 + timedelta(hours=6), views=["card_profile"])
    assert later[0].rows == 1  # card 1's new limit at 05:00
    out = world.get_online_features({"card_id": 1}, ["card_profile:credit_limit"], at=T0 + timedelta(hours=6))
    assert out["credit_limit"][0] == 2000.0


def test_push_updates_online_and_offline(world: FeatureStore) -> None:
    at = T0 + timedelta(hours=10)
    rows = pd.DataFrame(
        {
            "card_id": [7, 7],
            "tx_id": ["p1", "p2"],
            "event_timestamp": [at, at + timedelta(minutes=1)],
            "amount": [3.0, 4.0],
        }
    )
    assert world.push("transactions", rows) == 2
    world.push("transactions", rows.iloc[:1], to="online")  # a redelivered event counts once
    online = world.get_online_features({"card_id": 7}, ["card_activity"], at=at + timedelta(minutes=2))
    assert online["amount"][0] == 4.0 and online["amount_count_1h"][0] == 2 and online["amount_sum_1h"][0] == 7.0
    entities = pd.DataFrame({"card_id": [7], "event_timestamp": [at + timedelta(minutes=2)]})
    offline = world.get_historical_features(entities, ["card_activity"]).to_pandas()
    assert offline["amount_count_1h"][0] == 2 and offline["amount_sum_1h"][0] == 7.0


def test_a_forked_worker_reads_the_sqlite_store_on_a_connection_of_its_own(tmp_path: Path) -> None:
    import multiprocessing

    store = SqliteOnlineStore(tmp_path / "forked.db")
    store.write_latest("v", [("k", 1, {"x": 1.0})])
    store.read_latest("v", ["k"])  # the parent has used its connection before the fork
    context = multiprocessing.get_context("fork")
    queue = context.Queue()

    def child() -> None:
        store.write_latest("v", [("j", 2, {"x": 2.0})])
        found = store.read_latest("v", ["k", "j"])
        queue.put([None if f is None else f.values["x"] for f in found])

    process = context.Process(target=child)
    process.start()
    assert queue.get(timeout=60) == [1.0, 2.0]
    process.join(60)
    latest = store.read_latest("v", ["j"])[0]
    assert latest is not None and latest.values == {"x": 2.0}  # the parent sees the child's write
    store.close()
