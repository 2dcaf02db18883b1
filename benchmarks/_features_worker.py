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


def main() -> None:
    tool, entities, features, out, ttl_s = sys.argv[1:6]
    run = run_modelyard if tool == "modelyard" else run_pandas
    result = run(entities, features, out, float(ttl_s))
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


if __name__ == "__main__":
    main()
