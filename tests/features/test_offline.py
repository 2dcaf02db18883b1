"""Point-in-time correctness of the offline store: no leakage, TTL, aggregates, streaming inputs."""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from modelyard.errors import InvalidInput, NotFound
from modelyard.features import FeatureStore
from tests.features.conftest import T0, card_world

MS = timedelta(milliseconds=1)


@pytest.fixture
def applied(store: FeatureStore, tmp_path: Path) -> FeatureStore:
    store.apply(card_world(tmp_path))
    return store


def _features(store: FeatureStore, rows: list[tuple[int, pd.Timestamp]], refs: list[str]) -> pd.DataFrame:
    entities = pd.DataFrame({"card_id": [r[0] for r in rows], "event_timestamp": [r[1] for r in rows]})
    return store.get_historical_features(entities, refs).to_pandas()


def test_a_value_stamped_one_millisecond_later_is_never_used(applied: FeatureStore) -> None:
    changed = T0 + timedelta(hours=5)  # card 1's limit goes 1000 -> 2000 at this instant
    tx = T0 + timedelta(minutes=10)  # card 1's first transaction
    out = _features(
        applied,
        [(1, changed - MS), (1, changed), (1, tx - MS), (1, tx)],
        ["card_profile:credit_limit", "card_activity:amount", "card_activity:amount_count_1h"],
    )
    assert out["credit_limit"].tolist() == [1000.0, 2000.0, 1000.0, 1000.0]
    assert math.isnan(out["amount"][2]) and out["amount"][3] == 10.0
    assert out["amount_count_1h"].tolist()[2:] == [0, 1]


def test_values_older_than_the_ttl_expire(applied: FeatureStore) -> None:
    day = T0 + timedelta(days=1)
    two_hours = T0 + timedelta(minutes=5) + timedelta(hours=2)  # card 2's only transaction + ttl
    out = _features(
        applied,
        [(2, day), (2, day + MS), (2, two_hours), (2, two_hours + MS)],
        ["card_profile:credit_limit", "card_activity:amount"],
    )
    assert out["credit_limit"][0] == 500.0 and math.isnan(out["credit_limit"][1])
    assert out["amount"][2] == 7.0 and math.isnan(out["amount"][3])


def test_window_aggregates_count_events_in_the_last_hour(applied: FeatureStore) -> None:
    at = T0 + timedelta(minutes=95)  # window (35 min, 95 min]: transactions at 40 and 90 minutes
    out = _features(applied, [(1, at), (2, at), (3, at)], ["card_activity"])
    assert out["amount_count_1h"].tolist() == [2, 0, 0]
    assert out["amount_sum_1h"].tolist() == [60.0, 0.0, 0.0]
    assert out["amount"][0] == 40.0


def test_rows_come_back_in_the_given_order_with_their_own_columns(applied: FeatureStore) -> None:
    times = [T0 + timedelta(hours=h) for h in (6, 1, 3, 0)]
    entities = pd.DataFrame({"card_id": [2, 1, 2, 1], "event_timestamp": times, "label": [0, 1, 0, 1]})
    out = applied.get_historical_features(entities, ["card_profile"]).to_pandas()
    assert out["card_id"].tolist() == [2, 1, 2, 1]
    assert out["label"].tolist() == [0, 1, 0, 1]
    assert list(out.columns) == ["card_id", "event_timestamp", "label", "credit_limit", "segment"]
    assert out["segment"].tolist() == ["basic", "gold", "basic", "gold"]


def test_on_demand_features_use_request_fields_and_fetched_features(applied: FeatureStore) -> None:
    entities = pd.DataFrame(
        {"card_id": [1, 2], "event_timestamp": [T0 + timedelta(hours=1)] * 2, "request_amount": [100.0, 100.0]}
    )
    out = applied.get_historical_features(entities, ["tx_ratio:amount_to_limit"]).to_pandas()
    assert out["amount_to_limit"].tolist() == [0.1, 0.2]
    assert "credit_limit" not in out.columns


def test_entity_rows_can_stream_as_arrow_record_batches(applied: FeatureStore, tmp_path: Path) -> None:
    table = pa.table(
        {"card_id": [1, 2] * 500, "event_timestamp": pa.array([T0 + timedelta(hours=6)] * 1000, pa.timestamp("us"))}
    )
    reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=100))
    result = applied.get_historical_features(reader, ["card_profile:credit_limit"], batch_rows=64)
    batches = list(result.batches())
    assert sum(b.num_rows for b in batches) == 1000 and len(batches) > 1
    path = tmp_path / "out.parquet"
    again = applied.get_historical_features(table, ["card_profile:credit_limit"])
    assert again.to_parquet(path) == 1000
    assert pd.read_parquet(path)["credit_limit"].tolist()[:2] == [2000.0, 500.0]


def test_the_result_is_logged_as_a_dataset_version_with_lineage(applied: FeatureStore, backend) -> None:
    entities = pd.DataFrame({"card_id": [1], "event_timestamp": [T0 + timedelta(hours=1)]})
    result = applied.get_historical_features(entities, ["card_profile", "card_activity"], log_as="card-train")
    assert result.dataset is not None and result.dataset.row_count == 1
    assert result.to_pandas()["credit_limit"].tolist() == [1000.0]
    graph = backend.lineage.graph(backend.lineage.resolve(result.dataset.uri))
    upstream = {(str(e.source), str(e.target)) for e in graph.upstream}
    node = f"dataset_version:{result.dataset.node_id}"
    assert ("feature_view:card_profile/1", node) in upstream
    sources = {str(e.source) for e in graph.upstream if str(e.target) == "feature_view:card_profile/1"}
    assert any(s.startswith("feature_source:") and s.endswith("profiles.parquet") for s in sources)


def test_bad_requests_are_clear_errors(applied: FeatureStore) -> None:
    entities = pd.DataFrame({"card_id": [1], "event_timestamp": [T0]})
    with pytest.raises(NotFound, match="no feature view named 'nope'"):
        applied.get_historical_features(entities, ["nope:x"])
    with pytest.raises(NotFound, match="has no feature 'x'"):
        applied.get_historical_features(entities, ["card_profile:x"])
    with pytest.raises(InvalidInput, match="'event_timestamp' column"):
        applied.get_historical_features(entities.drop(columns="event_timestamp"), ["card_profile"])
    with pytest.raises(InvalidInput, match="lack column"):
        applied.get_historical_features(entities.drop(columns="card_id"), ["card_profile"])


def test_entity_rows_may_carry_a_column_named_like_an_aggregated_one(applied: FeatureStore) -> None:
    entities = pd.DataFrame({"card_id": [1], "event_timestamp": [T0 + timedelta(minutes=95)], "amount": [5.0]})
    out = applied.get_historical_features(entities, ["card_activity:amount_sum_1h"]).to_pandas()
    assert out["amount_sum_1h"].tolist() == [60.0] and out["amount"].tolist() == [5.0]
