"""Every kind of source feeds the same point-in-time join: a dataset version, a SQL query on the
store's database, CSV files and a Parquet path of entity rows."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text

from modelyard.errors import InvalidInput, NotFound
from modelyard.features import DatasetSource, Entity, FeatureStore, FeatureView, Field, FileSource, SqlSource
from modelyard.sdk.backends.local import LocalBackend
from tests.features.conftest import T0

CARD = Entity(name="card", join_keys=("card_id",))
LIMITS = pd.DataFrame(
    {"card_id": [1, 1, 2], "event_timestamp": [T0, T0 + timedelta(hours=2), T0], "credit_limit": [100.0, 200.0, 50.0]}
)
ROWS = pd.DataFrame({"card_id": [1, 1, 2], "event_timestamp": [T0 + timedelta(hours=1), T0 + timedelta(hours=3), T0]})
EXPECTED = [100.0, 200.0, 50.0]


def _view(source: object) -> FeatureView:
    return FeatureView(name="limits", entity="card", source=source, features=(Field(name="credit_limit"),))  # type: ignore[arg-type]


def _limits(store: FeatureStore, rows: object = ROWS) -> list[float]:
    return store.get_historical_features(rows, ["limits:credit_limit"]).to_pandas()["credit_limit"].tolist()  # type: ignore[arg-type]


def test_a_dataset_version_source_links_training_data_to_it(store: FeatureStore, backend: LocalBackend) -> None:
    version = backend.datasets.log(LIMITS, "card-limits")
    store.apply([CARD, _view(DatasetSource(uri=version.uri))])
    assert _limits(store) == EXPECTED
    graph = backend.lineage.graph(backend.lineage.resolve(version.uri))
    assert "feature_view:limits/1" in {str(e.target) for e in graph.downstream}


def test_a_sql_source_reads_the_stores_own_database(store: FeatureStore, backend: LocalBackend) -> None:
    with backend.db.begin() as conn:
        conn.execute(text("CREATE TABLE card_limits (card_id INTEGER, event_timestamp TEXT, credit_limit REAL)"))
        for row in LIMITS.itertuples():
            conn.execute(
                text("INSERT INTO card_limits VALUES (:c, :t, :v)"),
                {"c": row.card_id, "t": row.event_timestamp.isoformat(sep=" "), "v": row.credit_limit},
            )
    store.apply([CARD, _view(SqlSource(query="SELECT card_id, event_timestamp, credit_limit FROM card_limits"))])
    assert _limits(store) == EXPECTED
    store.apply([CARD, _view(SqlSource(query="SELECT * FROM no_such_table"))])
    with pytest.raises(InvalidInput, match="the SQL source failed"):
        _limits(store)
    with pytest.raises(InvalidInput, match="one SELECT"):
        SqlSource(query="DELETE FROM card_limits")


def test_csv_files_and_parquet_entity_paths(store: FeatureStore, tmp_path: Path) -> None:
    LIMITS.to_csv(tmp_path / "limits.csv", index=False)
    ROWS.to_parquet(tmp_path / "rows.parquet")
    store.apply([CARD, _view(FileSource(path=str(tmp_path / "limits.csv")))])
    assert _limits(store, str(tmp_path / "rows.parquet")) == EXPECTED
    store.apply([CARD, _view(FileSource(path=str(tmp_path / "missing.parquet")))])
    with pytest.raises(NotFound, match="does not exist"):
        _limits(store)


def test_an_fsspec_url_is_read_through_its_filesystem(store: FeatureStore) -> None:
    import fsspec

    fs = fsspec.filesystem("memory")
    with fs.open("memory://features-test/limits.parquet", "wb") as handle:
        LIMITS.to_parquet(handle)
    store.apply([CARD, _view(FileSource(path="memory://features-test/limits.parquet"))])
    try:
        assert _limits(store) == EXPECTED
    finally:
        fs.rm("memory://features-test", recursive=True)
