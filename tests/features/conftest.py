"""Fixtures of the features context: a feature store on a fresh SQLite store, a Redis online
store under a random key prefix (cleaned up), and a small card-transactions world.

Redis tests need ``MODELYARD_TEST_REDIS_URL`` (``.ci/run`` sets it); without it they skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from modelyard.config import Settings
from modelyard.data import DatasetService
from modelyard.features import (
    Aggregation,
    Entity,
    FeatureStore,
    FeatureView,
    Field,
    FileSource,
    OnDemandFeature,
    OnDemandFeatureView,
    OnlineStore,
    PushSource,
    SqliteOnlineStore,
    ValueType,
)
from modelyard.sdk.backends.local import LocalBackend

REDIS_URL_VAR = "MODELYARD_TEST_REDIS_URL"
T0 = pd.Timestamp("2026-01-01 00:00:00")


def redis_url() -> str:
    url = os.environ.get(REDIS_URL_VAR)
    if not url:
        pytest.skip(f"{REDIS_URL_VAR} is not set: no Redis to test against")
    return url


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own; every key under it is deleted afterwards."""
    import redis

    url = redis_url()
    prefix = f"modelyard-test:{uuid.uuid4().hex[:10]}:"
    yield prefix
    client = redis.Redis.from_url(url)
    names = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if names:
        client.delete(*names)
    client.close()


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    return Settings(
        home=tmp_path / "home",
        store_uri=f"sqlite:///{tmp_path / 'store.db'}",
        artifact_uri=str(tmp_path / "artifacts"),
        user="tester",
        capture_environment=False,
    )


@pytest.fixture
def backend(sqlite_settings: Settings) -> Iterator[LocalBackend]:
    opened = LocalBackend.open(sqlite_settings)
    yield opened
    opened.db.dispose()


@pytest.fixture
def make_store(backend: LocalBackend, tmp_path: Path) -> Iterator[Callable[..., FeatureStore]]:
    """Feature stores over ``backend``, with a SQLite online store unless one is given."""
    made: list[FeatureStore] = []

    def make(online: OnlineStore | None = None) -> FeatureStore:
        store = FeatureStore(
            backend.db,
            DatasetService(backend.db, backend.artifact_store, actor="tester"),
            online or SqliteOnlineStore(tmp_path / f"online-{len(made)}.db"),
            push_root=f"{backend.artifact_store.root_uri}/features/push",
            actor="tester",
        )
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


@pytest.fixture
def store(make_store: Callable[..., FeatureStore]) -> FeatureStore:
    return make_store()


def card_world(folder: Path) -> list[object]:
    """Cards with a profile (credit limit, ttl 1 day) and transactions (1-hour aggregates)."""
    profiles = pd.DataFrame(
        {
            "card_id": [1, 1, 2],
            "event_timestamp": [T0, T0 + timedelta(hours=5), T0],
            "credit_limit": [1000.0, 2000.0, 500.0],
            "segment": ["gold", "platinum", "basic"],
        }
    )
    tx = pd.DataFrame(
        {
            "card_id": [1, 1, 1, 2],
            "tx_id": ["a", "b", "c", "d"],
            "event_timestamp": [
                T0 + timedelta(minutes=10),
                T0 + timedelta(minutes=40),
                T0 + timedelta(minutes=90),
                T0 + timedelta(minutes=5),
            ],
            "amount": [10.0, 20.0, 40.0, 7.0],
        }
    )
    profiles.to_parquet(folder / "profiles.parquet")
    tx.to_parquet(folder / "tx.parquet")
    card = Entity(name="card", join_keys=("card_id",))
    profile = FeatureView(
        name="card_profile",
        entity="card",
        source=FileSource(path=str(folder / "profiles.parquet")),
        features=(Field(name="credit_limit"), Field(name="segment", dtype=ValueType.STRING)),
        ttl=timedelta(days=1),
    )
    activity = FeatureView(
        name="card_activity",
        entity="card",
        source=PushSource(
            name="transactions",
            schema=(Field(name="amount"), Field(name="tx_id", dtype=ValueType.STRING)),
            batch_source=FileSource(path=str(folder / "tx.parquet")),
            event_id_field="tx_id",
        ),
        features=(Field(name="amount"),),
        aggregations=(
            Aggregation(column="amount", function="count", window=timedelta(hours=1)),
            Aggregation(column="amount", function="sum", window=timedelta(hours=1)),
        ),
        ttl=timedelta(hours=2),
    )
    ratio = OnDemandFeatureView(
        name="tx_ratio",
        request_fields=(Field(name="request_amount"),),
        sources=("card_profile",),
        features=(OnDemandFeature(name="amount_to_limit", expression="request_amount / credit_limit"),),
    )
    return [card, profile, activity, ratio]
