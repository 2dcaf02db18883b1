"""Fraud detection with the feature store: point-in-time training data, streamed features, online enrichment.

1. Generate a week of card transactions (a few cards get bursts of large, fraudulent ones) and
   card profiles, as Parquet files: the raw data.
2. Define the features in Python (a card entity, a profile view, a transaction view with 1-hour
   and 24-hour windowed aggregates over a push source, an on-demand ratio) and apply them: the
   plan shows what is added, changed or removed.
3. Train on point-in-time correct features: every transaction gets the features as they were at
   its own time (never a value from later), logged as a dataset version whose lineage reaches the
   feature views and the raw files; the model is registered.
4. Load the online store (``materialize_incremental``), then stream fresh transactions through a
   Redis stream into it (a consumer group; with no Redis at ``--redis-url`` they are pushed
   directly instead).
5. Deploy the model with a feature lookup and serve it over HTTP: a request carries only the card
   and the amount; the server adds the card's features from the online store, so a card in the
   middle of a burst scores high.

Runs standalone on the embedded defaults (``MODELYARD_HOME`` or ``~/.modelyard``)::

    python examples/fraud_features.py [--redis-url redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import redis
from rich.console import Console
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

import modelyard as my
from modelyard.domain.features import ChangeKind
from modelyard.domain.serving import FeatureLookup, VariantSpec
from modelyard.features import (
    Aggregation,
    Entity,
    FeatureView,
    Field,
    FileSource,
    OnDemandFeature,
    OnDemandFeatureView,
    PushSource,
    ValueType,
)
from modelyard.features.stream import StreamConsumer
from modelyard.sdk.features import open_feature_store
from modelyard.sdk.serving import build_app
from modelyard.serving import start_in_thread

console = Console()
MODEL = "fraud-detector"
DEPLOYMENT = "fraud-api"
FEATURES = [
    "card_profile:credit_limit",
    "card_profile:account_age_days",
    "card_activity:tx_count_1h",
    "card_activity:amount_sum_1h",
    "card_activity:amount_mean_1d",
    "tx_risk:amount_to_limit",
    "tx_risk:amount_to_mean",
]
COLUMNS = ["amount", *(ref.split(":")[1] for ref in FEATURES)]


def generate(folder: Path, now: pd.Timestamp, seed: int = 7, cards: int = 400) -> pd.DataFrame:
    """A week of transactions ending two hours ago, and card profiles; returns the transactions."""
    rng = np.random.default_rng(seed)
    start = now - timedelta(days=7)
    profiles = pd.DataFrame(
        {
            "card_id": np.arange(cards),
            "event_timestamp": start - timedelta(days=1),
            "credit_limit": rng.choice([500.0, 1000.0, 2500.0, 5000.0], cards),
            "account_age_days": rng.integers(10, 3000, cards),
        }
    )
    rows = []
    typical = rng.lognormal(3.2, 0.5, cards)
    for card in range(cards):
        n = rng.poisson(30)
        times = start + pd.to_timedelta(np.sort(rng.uniform(0, 7 * 86_400 - 7_200, n)), unit="s")
        amounts = rng.lognormal(np.log(typical[card]), 0.4, n) * np.where(rng.random(n) < 0.05, 8.0, 1.0)
        rows += [(card, t, round(a, 2), 0) for t, a in zip(times, amounts, strict=True)]
        if rng.random() < 0.15:  # a burst of transactions within an hour, mostly large: fraud
            burst = start + timedelta(seconds=float(rng.uniform(86_400, 6 * 86_400)))
            for _ in range(int(rng.integers(2, 9))):
                amount = float(profiles.credit_limit[card]) * rng.uniform(0.02, 0.9)
                rows.append((card, burst + timedelta(minutes=float(rng.uniform(0, 60))), round(amount, 2), 1))
        if rng.random() < 0.1:  # a legitimate shopping spree: several purchases in an hour
            spree = start + timedelta(seconds=float(rng.uniform(86_400, 6 * 86_400)))
            for _ in range(int(rng.integers(3, 7))):
                amount = float(rng.lognormal(np.log(typical[card]), 0.6))
                rows.append((card, spree + timedelta(minutes=float(rng.uniform(0, 60))), round(amount, 2), 0))
    tx = pd.DataFrame(rows, columns=["card_id", "event_timestamp", "amount", "is_fraud"]).sort_values("event_timestamp")
    tx.insert(0, "tx_id", [f"h{i}" for i in range(len(tx))])
    folder.mkdir(parents=True, exist_ok=True)
    profiles.to_parquet(folder / "card_profiles.parquet")
    tx.drop(columns="is_fraud").to_parquet(folder / "transactions.parquet")
    return tx.reset_index(drop=True)


def definitions(folder: Path) -> list[object]:
    """The feature repository: what ``modelyard features apply`` would collect from a module."""
    card = Entity(name="card", join_keys=("card_id",), description="A payment card")
    profile = FeatureView(
        name="card_profile",
        entity="card",
        source=FileSource(path=str(folder / "card_profiles.parquet")),
        features=(Field(name="credit_limit"), Field(name="account_age_days", dtype=ValueType.INT64)),
        ttl=timedelta(days=30),
    )
    activity = FeatureView(
        name="card_activity",
        entity="card",
        source=PushSource(
            name="transactions",
            schema=(Field(name="amount"), Field(name="tx_id", dtype=ValueType.STRING)),
            batch_source=FileSource(path=str(folder / "transactions.parquet")),
            event_id_field="tx_id",
        ),
        aggregations=(
            Aggregation(column="amount", function="count", window=timedelta(hours=1), name="tx_count_1h"),
            Aggregation(column="amount", function="sum", window=timedelta(hours=1)),
            Aggregation(column="amount", function="mean", window=timedelta(hours=24)),
        ),
    )
    risk = OnDemandFeatureView(
        name="tx_risk",
        request_fields=(Field(name="amount"),),
        sources=("card_profile", "card_activity"),
        features=(
            OnDemandFeature(name="amount_to_limit", expression="amount / credit_limit"),
            OnDemandFeature(name="amount_to_mean", expression="amount / amount_mean_1d"),
        ),
    )
    return [card, profile, activity, risk]


def stream_transactions(url: str, rows: pd.DataFrame) -> None:
    """Send ``rows`` through a Redis stream and a consumer into the online store, or push them
    directly when no Redis answers at ``url``."""
    store = open_feature_store(my.client().backend)
    try:
        client = redis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=2)
        client.ping()
    except redis.RedisError:
        console.print(f"  no Redis at {url}: pushing the {len(rows)} transactions directly")
        store.push("transactions", rows, to="online")
        return
    stream = f"modelyard-example:transactions:{uuid.uuid4().hex[:8]}"
    for row in rows.itertuples():
        client.xadd(
            stream,
            {
                "tx_id": row.tx_id,
                "card_id": str(row.card_id),
                "amount": str(row.amount),
                "event_timestamp": str(int(row.event_timestamp.timestamp() * 1000)),
            },
        )
    consumer = StreamConsumer(store, url, stream=stream, source="transactions", consumer="example", block_ms=100)
    applied = consumer.run(until_idle=True)
    lag = consumer.update_lag()
    console.print(f"  consumed {applied} stream entries from {stream} (lag now {lag})")
    consumer.close()
    client.delete(stream)
    client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    now = pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s")
    folder = my.client().settings.home / "examples" / "fraud"

    console.rule("1. Raw data")
    tx = generate(folder, now)
    console.print(f"{len(tx):,} transactions of {tx.card_id.nunique()} cards, {int(tx.is_fraud.sum())} fraudulent")

    console.rule("2. Feature definitions")
    plan = my.feature_store.apply(definitions(folder))
    for kind in (ChangeKind.ADDED, ChangeKind.CHANGED, ChangeKind.REMOVED):
        for change in plan.of(kind):
            console.print(f"  {kind.value:8} {change.kind.value} {change.name} {', '.join(change.fields)}")
    if plan.is_empty:
        console.print("  no changes: the registered definitions match")

    console.rule("3. Point-in-time training data and a model")
    my.set_experiment("fraud-features")
    with my.start_run(run_name="fraud-training"):
        entities = tx[["card_id", "event_timestamp", "amount", "is_fraud"]]
        training = my.feature_store.get_historical_features(entities, FEATURES, log_as="fraud-training")
        frame = training.to_pandas()
        cut = frame.event_timestamp.quantile(0.8)
        train, test = frame[frame.event_timestamp < cut], frame[frame.event_timestamp >= cut]
        model = HistGradientBoostingClassifier(max_iter=150, random_state=0).fit(train[COLUMNS], train.is_fraud)
        auc = roc_auc_score(test.is_fraud, model.predict_proba(test[COLUMNS])[:, 1])
        my.log_metric("test_auc", float(auc))
        logged = my.log_model(model, "model", input_example=train[COLUMNS].head(5))
        version = my.register_model(logged.uri, MODEL)
    assert training.dataset is not None
    console.print(f"  {training.dataset.uri}: {training.dataset.row_count:,} rows; test AUC {auc:.3f}")
    console.print(f"  registered {MODEL} v{version.version}")

    console.rule("4. Online store: materialize, then stream")
    for result in my.feature_store.materialize_incremental(now):
        console.print(f"  {result.view}: {result.rows} entities, {result.events} window events")
    quiet_card = int(tx.groupby("card_id").size().idxmin())
    burst = pd.DataFrame(
        {
            "tx_id": [f"live-{uuid.uuid4().hex[:8]}" for _ in range(6)],
            "card_id": 7,
            "amount": [480.0, 455.0, 470.0, 490.0, 440.0, 465.0],
            "event_timestamp": [now - timedelta(minutes=25 - 4 * k) for k in range(6)],
        }
    )
    stream_transactions(args.redis_url, burst)

    console.rule("5. Served with online enrichment")
    backend = my.client().backend
    backend.deployments.deploy(
        DEPLOYMENT,
        [VariantSpec(uri=f"models:/{MODEL}/{version.version}")],
        features=FeatureLookup(features=tuple(FEATURES), on_missing="reject"),
    )
    server = build_app(backend, [DEPLOYMENT])
    http = start_in_thread(server.app)
    try:
        for card, amount, what in ((7, 470.0, "card 7, mid-burst"), (quiet_card, 25.0, f"card {quiet_card}, quiet")):
            response = httpx.post(
                f"{http.url}/v1/deployments/{DEPLOYMENT}/predict",
                json={"records": [{"card_id": card, "amount": amount}]},
                timeout=30,
            )
            response.raise_for_status()
            console.print(f"  {what}: amount {amount:g} -> fraud = {response.json()['predictions'][0]}")
        unknown = httpx.post(
            f"{http.url}/v1/deployments/{DEPLOYMENT}/predict",
            json={"records": [{"card_id": 10_000_000, "amount": 10.0}]},
            timeout=30,
        )
        console.print(f"  unknown card -> HTTP {unknown.status_code}: {unknown.json()['message']}")
    finally:
        http.stop()
    console.rule(f"Lineage of {MODEL} v{version.version}: from the model back to the raw files")
    console.print(my.lineage.tree(f"models:/{MODEL}/{version.version}"))


if __name__ == "__main__":
    main()
