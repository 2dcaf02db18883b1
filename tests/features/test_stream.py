"""The Redis Streams consumer against the real Redis: at-least-once with idempotent writes, shared
consumer groups, lag as a metric, and a consumer killed mid-stream whose work another finishes
with nothing lost and nothing counted twice."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pandas as pd
import pytest
import redis

from modelyard.config import Settings
from modelyard.features import Aggregation, Entity, FeatureStore, FeatureView, Field, PushSource
from modelyard.features.online.redis import RedisOnlineStore
from modelyard.features.stream import StreamConsumer
from tests._subprocess import child_env, free_port
from tests.features.conftest import T0, redis_url

MODELYARD = str(Path(sys.executable).parent / "modelyard")
DAY = timedelta(days=1)


def _definitions() -> list[object]:
    card = Entity(name="card", join_keys=("card_id",))
    spend = FeatureView(
        name="card_spend",
        entity="card",
        source=PushSource(name="tx", schema=(Field(name="amount"),)),
        features=(Field(name="amount"),),
        aggregations=(
            Aggregation(column="amount", function="count", window=DAY),
            Aggregation(column="amount", function="sum", window=DAY),
        ),
    )
    return [card, spend]


@pytest.fixture
def stream_name(redis_prefix: str) -> Iterator[str]:
    name = f"{redis_prefix}stream:{uuid.uuid4().hex[:6]}"
    yield name  # deleted with every key under the prefix


@pytest.fixture
def world(make_store: Callable[..., FeatureStore], redis_prefix: str) -> FeatureStore:
    store = make_store(RedisOnlineStore(redis_url(), prefix=redis_prefix))
    store.apply(_definitions())
    return store


def _produce(stream: str, events: int, cards: int = 10) -> dict[int, tuple[int, float]]:
    """Add ``events`` transactions; returns per card (count, sum)."""
    client = redis.Redis.from_url(redis_url(), decode_responses=True)
    expected: dict[int, tuple[int, float]] = {}
    pipe = client.pipeline(transaction=False)
    for i in range(events):
        card, amount = i % cards, float(i % 7 + 1)
        stamp = int((T0 + timedelta(milliseconds=i)).timestamp() * 1000)
        pipe.xadd(stream, {"card_id": str(card), "event_timestamp": str(stamp), "amount": str(amount)})
        count, total = expected.get(card, (0, 0.0))
        expected[card] = (count + 1, total + amount)
    pipe.execute()
    client.close()
    return expected


def _online_totals(store: FeatureStore, cards: int) -> dict[int, tuple[int, float]]:
    out = store.get_online_features([{"card_id": c} for c in range(cards)], ["card_spend"], at=T0 + timedelta(hours=1))
    return {
        c: (int(n), float(s))
        for c, n, s in zip(range(cards), out["amount_count_1d"], out["amount_sum_1d"], strict=True)
    }


@pytest.mark.parametrize(
    ("successor", "claim_idle_ms"),
    [("b", 0), ("a", 600_000)],  # another consumer claims the stalled entries; or "a" restarts and re-reads its own
    ids=["taken-over", "restarted"],
)
def test_entries_are_applied_once_even_when_delivered_twice(
    world: FeatureStore, stream_name: str, successor: str, claim_idle_ms: int
) -> None:
    expected = _produce(stream_name, 300)
    first = StreamConsumer(
        world, redis_url(), stream=stream_name, source="tx", consumer="a", batch_size=50, block_ms=10
    )
    first.ensure_group()
    # "a" reads a batch and writes it, then dies before acknowledging it: the entries stay pending
    crashed = first._read(">")
    first.apply(crashed)
    assert first.update_lag() == 250
    # the successor re-reads or takes over the stalled entries and finishes the stream
    second = StreamConsumer(
        world,
        redis_url(),
        stream=stream_name,
        source="tx",
        consumer=successor,
        batch_size=50,
        block_ms=10,
        claim_idle_ms=claim_idle_ms,
    )
    assert second.run(until_idle=True) == 300
    assert _online_totals(world, 10) == expected
    assert second.update_lag() == 0
    metrics = second.metrics.render().decode()
    assert f'modelyard_feature_stream_lag{{group="modelyard-features",stream="{stream_name}"}} 0.0' in metrics
    assert 'modelyard_feature_stream_events_total{group="modelyard-features"' in metrics
    for consumer in (first, second):
        consumer.close()


def test_a_consumer_killed_mid_stream_loses_and_doubles_nothing(
    world: FeatureStore, stream_name: str, sqlite_settings: Settings, redis_prefix: str
) -> None:
    events, cards = 20_000, 10
    expected = _produce(stream_name, events, cards)
    env = child_env(sqlite_settings, MODELYARD_ONLINE_STORE_URI=f"{redis_url()}?prefix={redis_prefix}")
    args = [MODELYARD, "features", "consume", stream_name, "--source", "tx", "--batch-size", "20"]
    client = redis.Redis.from_url(redis_url(), decode_responses=True)

    def read_so_far() -> int:
        groups = client.xinfo_groups(stream_name) if client.exists(stream_name) else []
        return int(groups[0]["entries-read"] or 0) if groups else 0

    port = free_port()
    victim = subprocess.Popen(
        [*args, "--consumer", "victim", "--metrics-port", str(port)], env=env, start_new_session=True, text=True
    )
    try:
        deadline = time.monotonic() + 120
        while read_so_far() < 2_000 and time.monotonic() < deadline and victim.poll() is None:
            time.sleep(0.05)
        assert victim.poll() is None, "the consumer ended before it could be killed"
        scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text  # the lag, as Prometheus sees it
        [lag] = [
            float(line.rsplit(" ", 1)[1])
            for line in scraped.splitlines()
            if line.startswith(f'modelyard_feature_stream_lag{{group="modelyard-features",stream="{stream_name}"}}')
        ]
        assert 0 < lag < events
        victim.send_signal(signal.SIGKILL)  # no clean-up, possibly between a write and its XACK
        victim.wait(30)
    finally:
        if victim.poll() is None:
            victim.kill()
    done_by_victim = read_so_far()
    assert 0 < done_by_victim < events, "killed mid-stream"

    heir = StreamConsumer(
        world,
        redis_url(),
        stream=stream_name,
        source="tx",
        consumer="heir",
        batch_size=500,
        block_ms=10,
        claim_idle_ms=0,
    )
    heir.run(until_idle=True)
    assert _online_totals(world, cards) == expected
    pending = client.xpending(stream_name, "modelyard-features")
    assert pending["pending"] == 0 and heir.update_lag() == 0
    heir.close()
    client.close()
    assert pd.notna(world.get_online_features({"card_id": 3}, ["card_spend:amount"])["amount"][0])


def test_consumers_of_one_group_share_the_stream_each_entry_going_to_one(
    make_store: Callable[..., FeatureStore], world: FeatureStore, stream_name: str, redis_prefix: str
) -> None:
    events, cards = 4_000, 10
    expected = _produce(stream_name, events, cards)
    consumers = [
        StreamConsumer(
            make_store(RedisOnlineStore(redis_url(), prefix=redis_prefix)),  # a store (and connections) each
            redis_url(),
            stream=stream_name,
            source="tx",
            consumer=name,
            batch_size=20,
            block_ms=10,
        )
        for name in ("left", "right")
    ]
    consumers[0].ensure_group()
    start = threading.Barrier(len(consumers))
    applied: dict[str, int] = {}

    def work(consumer: StreamConsumer) -> None:
        start.wait(30)
        applied[consumer.consumer] = consumer.run(until_idle=True)

    threads = [threading.Thread(target=work, args=(c,)) for c in consumers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert sum(applied.values()) == events  # each entry delivered to one consumer of the group
    assert all(n > 0 for n in applied.values()), applied  # and both took a share
    assert _online_totals(world, cards) == expected
    client = redis.Redis.from_url(redis_url(), decode_responses=True)
    assert {c["name"] for c in client.xinfo_consumers(stream_name, "modelyard-features")} == {"left", "right"}
    assert client.xpending(stream_name, "modelyard-features")["pending"] == 0
    client.close()
    for consumer in consumers:
        consumer.close()
