"""One point-in-time join on a pair of Parquet files, in a process of its own; prints one JSON line.

Run by ``benchmarks/features.py`` as ``python _features_worker.py TOOL ENTITIES FEATURES OUT TTL_S``
so each tool's peak memory (``ru_maxrss`` of this process) is its own. Both tools do the same work,
timed from the files on disk to the answer on disk: read the entity rows and the feature rows, give
each entity row the latest feature row of its entity stamped at or before it and within the TTL,
and write the answer as Parquet.

- ``pandas``: ``read_parquet`` both, sort by time, ``merge_asof(by=entity, direction="backward",
  tolerance=ttl)``, ``to_parquet``: what a user writes by hand;
- ``modelyard``: a feature store over a fresh store in a temporary home, one ``FeatureView`` on the
  Parquet file, ``get_historical_features(path, ...).to_parquet(out)``: DuckDB's ASOF join, streamed.
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any


def _rss_mib() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run_pandas(entities: str, features: str, out: str, ttl_s: float) -> dict[str, Any]:
    import pandas as pd

    baseline = _rss_mib()
    started = time.perf_counter()
    left = pd.read_parquet(entities).sort_values("event_timestamp", kind="stable")
    right = pd.read_parquet(features).sort_values("event_timestamp", kind="stable")
    right = right.rename(columns={"event_timestamp": "feature_timestamp"})
    joined = pd.merge_asof(
        left,
        right,
        left_on="event_timestamp",
        right_on="feature_timestamp",
        by="entity_id",
        direction="backward",
        tolerance=pd.Timedelta(seconds=ttl_s),
    ).drop(columns="feature_timestamp")
    joined.to_parquet(out, index=False)
    return {"seconds": time.perf_counter() - started, "rows": len(joined), "baseline_rss_mib": baseline}


def run_modelyard(entities: str, features: str, out: str, ttl_s: float) -> dict[str, Any]:
    from modelyard.config import Settings
    from modelyard.features import Entity, FeatureView, Field, FileSource
    from modelyard.sdk.backends.local import LocalBackend
    from modelyard.sdk.features import open_feature_store

    with tempfile.TemporaryDirectory() as home:
        backend = LocalBackend.open(Settings(home=Path(home), capture_environment=False))
        store = open_feature_store(backend)
        store.apply(
            [
                Entity(name="entity", join_keys=("entity_id",)),
                FeatureView(
                    name="stats",
                    entity="entity",
                    source=FileSource(path=features),
                    features=(Field(name="f1"), Field(name="f2")),
                    ttl=timedelta(seconds=ttl_s),
                ),
            ]
        )
        baseline = _rss_mib()
        started = time.perf_counter()
        rows = store.get_historical_features(entities, ["stats:f1", "stats:f2"]).to_parquet(out)
        seconds = time.perf_counter() - started
        store.close()
        backend.db.dispose()
    return {"seconds": seconds, "rows": rows, "baseline_rss_mib": baseline}


def run_feast(entities: str, features: str, out: str, ttl_s: float) -> dict[str, Any]:
    """Feast's offline store (the default ``file`` store, on dask) over the same Parquet file; the
    interpreter may be another virtualenv's (``MODELYARD_BENCH_FEAST_PYTHON``): only feast and
    pandas are imported here."""
    import warnings

    import pandas as pd
    from feast import Entity, FeatureStore, FeatureView, Field, FileSource
    from feast.repo_config import RepoConfig
    from feast.types import Float64

    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as repo:
        config = RepoConfig(
            project="bench",
            registry=str(Path(repo) / "registry.db"),
            provider="local",
            offline_store={"type": "file"},
            online_store={"type": "sqlite", "path": str(Path(repo) / "online.db")},
            entity_key_serialization_version=3,
        )
        store = FeatureStore(config=config)
        entity = Entity(name="entity", join_keys=["entity_id"])
        view = FeatureView(
            name="stats",
            entities=[entity],
            ttl=timedelta(seconds=ttl_s),
            schema=[Field(name="f1", dtype=Float64), Field(name="f2", dtype=Float64)],
            source=FileSource(path=features, timestamp_field="event_timestamp"),
        )
        store.apply([entity, view])
        baseline = _rss_mib()
        started = time.perf_counter()
        entity_df = pd.read_parquet(entities)
        joined = store.get_historical_features(entity_df=entity_df, features=["stats:f1", "stats:f2"]).to_df()
        stamps = joined["event_timestamp"]
        if getattr(stamps.dt, "tz", None) is not None:
            joined["event_timestamp"] = stamps.dt.tz_convert(None)
        joined.to_parquet(out, index=False)
        seconds = time.perf_counter() - started
    from importlib.metadata import version

    return {"seconds": seconds, "rows": len(joined), "baseline_rss_mib": baseline, "version": version("feast")}


def main() -> None:
    tool, entities, features, out, ttl_s = sys.argv[1:6]
    run = {"modelyard": run_modelyard, "pandas": run_pandas, "feast": run_feast}[tool]
    result = run(entities, features, out, float(ttl_s))
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


if __name__ == "__main__":
    main()
