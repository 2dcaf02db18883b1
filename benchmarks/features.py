"""Feature store: point-in-time joins vs pandas ``merge_asof``, online lookups, stream ingestion.

- **Point-in-time join**: 1,000,000 entity rows against 10,000,000 feature rows (100,000 entities,
  30 days, two float features, a 7-day TTL), generated once as Parquet. Each tool runs in a process
  of its own (``_features_worker.py``), from the files to the answer written as Parquet, so time
  and peak memory (``ru_maxrss``) are its own. The two answers are compared (same rows, same
  values) before any figure is reported. Feast's offline store joins too when an interpreter with
  Feast is at hand (``MODELYARD_BENCH_FEAST_PYTHON``, or this one if it imports ``feast``).
- **Online lookup** of one entity (what a served request costs): ``online_lookup`` of a resolved
  two-feature view, p50 and p99 over many lookups, on SQLite and on Redis; the "incumbent" column
  is the same read written by hand against the bare client (one ``SELECT`` / ``HMGET`` and a JSON
  decode): the floor, so the ratio shows what the feature store's own work costs.
- **Stream ingestion**: events through a Redis stream into the online store (a consumer group,
  one-hour count and sum aggregates, XACK after each batch), events per second, against a
  hand-written loop that reads the same stream and writes one hash per event (no aggregates, no
  idempotence): again the floor.

Redis: ``MODELYARD_BENCH_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``); its cases are skipped
when nothing answers there. Standalone: ``python benchmarks/features.py [--scale S]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: `python benchmarks/features.py`

from benchmarks._common import Case, Options, print_table
from modelyard.config import Settings
from modelyard.data import DatasetService
from modelyard.features import (
    Aggregation,
    Entity,
    FeatureStore,
    FeatureView,
    Field,
    FileSource,
    PushSource,
    SqliteOnlineStore,
)
from modelyard.features.online.base import OnlineStore, entity_key
from modelyard.sdk.backends.local import LocalBackend

TITLE = (
    "Feature store: point-in-time joins vs pandas merge_asof; online lookups and stream ingestion vs the bare clients"
)
INCUMBENT = "pandas / bare client"

WORKER = Path(__file__).resolve().parent / "_features_worker.py"
ENTITY_ROWS, FEATURE_ROWS, ENTITIES = 1_000_000, 10_000_000, 100_000
LOOKUPS, ONLINE_ENTITIES, STREAM_EVENTS = 5_000, 100_000, 100_000
TTL_S = 7 * 86_400.0
DAYS = 30
T0 = pd.Timestamp("2026-01-01")
REDIS_URL = os.environ.get("MODELYARD_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
TIMEOUT_S = 3_600

_versions: dict[str, str] = {}


def versions() -> dict[str, str]:
    return dict(_versions)


def _write(folder: Path, entity_rows: int, feature_rows: int, entities: int) -> tuple[Path, Path]:
    """Entity rows and feature rows as Parquet, written in chunks (never all in memory at once)."""
    rng = np.random.default_rng(11)
    span = DAYS * 86_400_000_000  # microseconds
    paths = folder / "entities.parquet", folder / "features.parquet"
    for path, rows, columns in ((paths[0], entity_rows, ()), (paths[1], feature_rows, ("f1", "f2"))):
        writer: pq.ParquetWriter | None = None
        for start in range(0, rows, 1_000_000):
            n = min(1_000_000, rows - start)
            data: dict[str, Any] = {
                "entity_id": rng.integers(0, entities, n),
                "event_timestamp": pa.array(T0.value // 1000 + rng.integers(0, span, n), pa.timestamp("us")),
            }
            data.update({c: rng.normal(size=n) for c in columns})
            table = pa.table(data)
            writer = writer or pq.ParquetWriter(path, table.schema)
            writer.write_table(table)
        assert writer is not None
        writer.close()
    return paths


def _feast_python() -> str | None:
    """An interpreter with Feast: ``MODELYARD_BENCH_FEAST_PYTHON`` (Feast's pins clash with the dev
    environment's, so it usually lives in a virtualenv of its own), else this one if it has Feast."""
    configured = os.environ.get("MODELYARD_BENCH_FEAST_PYTHON")
    if configured:
        return configured
    try:
        import feast  # noqa: F401
    except ImportError:
        return None
    return sys.executable


def _worker(tool: str, entities: Path, features: Path, out: Path, python: str = sys.executable) -> dict[str, Any]:
    done = subprocess.run(
        [python, str(WORKER), tool, str(entities), str(features), str(out), str(TTL_S)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    if done.returncode != 0:
        raise RuntimeError(f"{tool} worker failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _same_answer(ours: Path, theirs: Path) -> None:
    """Both tools gave every entity row the same feature values (pandas reorders rows by time)."""
    keys = ["entity_id", "event_timestamp"]
    a = pd.read_parquet(ours).sort_values([*keys, "f1"], na_position="first").reset_index(drop=True)
    b = pd.read_parquet(theirs)[a.columns].sort_values([*keys, "f1"], na_position="first").reset_index(drop=True)
    if len(a) != len(b):
        raise AssertionError(f"row counts differ: modelyard {len(a)}, pandas {len(b)}")
    for column in ("f1", "f2"):
        if not np.allclose(a[column].to_numpy(float), b[column].to_numpy(float), equal_nan=True):
            raise AssertionError(f"the two answers differ in {column}")


def _same_as_feast(ours: Path, feast: Path) -> int:
    """Feast's answer holds our values; returns how many entity rows it left out (Feast's file
    offline store drops the entity rows that have no feature value within the TTL, which we keep
    with nulls): those must be exactly the rows we answered with nulls."""
    keys = ["entity_id", "event_timestamp"]
    a = pd.read_parquet(ours)
    b = pd.read_parquet(feast)
    a["event_timestamp"] = a["event_timestamp"].astype("datetime64[us]")
    b["event_timestamp"] = b["event_timestamp"].astype("datetime64[us]")
    merged = a.merge(b[[*keys, "f1", "f2"]], on=keys, how="left", suffixes=("", "_feast"), indicator=True)
    found = merged["_merge"] == "both"
    if len(b) != int(found.sum()) or merged.loc[~found, "f1"].notna().any():
        raise AssertionError("Feast's answer left out rows that have a value, or has rows we do not")
    for column in ("f1", "f2"):
        mine, theirs = merged.loc[found, column].to_numpy(float), merged.loc[found, f"{column}_feast"].to_numpy(float)
        if not np.allclose(mine, theirs, equal_nan=True):
            raise AssertionError(f"modelyard's and Feast's answers differ in {column}")
    return int((~found).sum())


def _feast_cases(size: str, ours: dict[str, Any], feast: dict[str, Any], dropped: int) -> list[Case]:
    note = (
        f"Feast {_versions.get('feast', '?')} file offline store (dask); same values checked; "
        f"Feast leaves out the {dropped:,} entity rows with no value in the TTL"
    )
    return [
        Case(
            name=f"point-in-time join vs Feast, {size}",
            unit="s",
            modelyard=ours["seconds"],
            incumbent=feast["seconds"],
            higher_is_better=False,
            note=note,
        ),
        Case(
            name=f"point-in-time join peak memory vs Feast, {size}",
            unit="MiB",
            modelyard=ours["peak_rss_mib"],
            incumbent=feast["peak_rss_mib"],
            higher_is_better=False,
        ),
    ]


def point_in_time(options: Options) -> list[Case]:
    entity_rows, feature_rows = options.n(ENTITY_ROWS, 1_000), options.n(FEATURE_ROWS, 10_000)
    entities = options.n(ENTITIES, 100)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        left, right = _write(folder, entity_rows, feature_rows, entities)
        ours = _worker("modelyard", left, right, folder / "modelyard.parquet")
        theirs = _worker("pandas", left, right, folder / "pandas.parquet")
        _same_answer(folder / "modelyard.parquet", folder / "pandas.parquet")
        size = f"{entity_rows:,} x {feature_rows:,} rows"
        feast_cases: list[Case] = []
        feast_python = _feast_python()
        if feast_python is not None:
            feast = _worker("feast", left, right, folder / "feast.parquet", python=feast_python)
            _versions["feast"] = feast.get("version", "?")
            dropped = _same_as_feast(folder / "modelyard.parquet", folder / "feast.parquet")
            feast_cases = _feast_cases(size, ours, feast, dropped)
    return [
        Case(
            name=f"point-in-time join, {size}",
            unit="s",
            modelyard=ours["seconds"],
            incumbent=theirs["seconds"],
            higher_is_better=False,
            note="files to answer on disk; same values checked; pandas = read_parquet + sort + merge_asof",
        ),
        Case(
            name=f"point-in-time join peak memory, {size}",
            unit="MiB",
            modelyard=ours["peak_rss_mib"],
            incumbent=theirs["peak_rss_mib"],
            higher_is_better=False,
        ),
        Case(
            name=f"point-in-time join memory above imports, {size}",
            unit="MiB",
            modelyard=ours["peak_rss_mib"] - ours["baseline_rss_mib"],
            incumbent=theirs["peak_rss_mib"] - theirs["baseline_rss_mib"],
            higher_is_better=False,
            note="peak RSS minus the RSS once each tool's modules were loaded (modelyard loads more)",
        ),
        *feast_cases,
    ]


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def _lookup_cases(
    label: str, store: FeatureStore, online: OnlineStore, bare: Any, lookups: int, entities: int
) -> list[Case]:
    resolved = store.resolve(["stats:f1", "stats:f2"])
    rng = np.random.default_rng(5)
    ids = rng.integers(0, entities, lookups)
    ours, floor = [], []
    for entity in ids:
        frame = pd.DataFrame({"entity_id": [int(entity)]})
        started = time.perf_counter()
        store.online_lookup(resolved, frame)
        ours.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        bare(entity_key([int(entity)]))
        floor.append((time.perf_counter() - started) * 1000)
    (p50, p99), (b50, b99) = _percentiles(ours), _percentiles(floor)
    return [
        Case(name=f"online lookup p50, {label}", unit="ms", modelyard=p50, incumbent=b50, higher_is_better=False),
        Case(name=f"online lookup p99, {label}", unit="ms", modelyard=p99, incumbent=b99, higher_is_better=False),
    ]


def _materialized(backend: LocalBackend, online: OnlineStore, folder: Path, entities: int) -> FeatureStore:
    rng = np.random.default_rng(3)
    pd.DataFrame(
        {
            "entity_id": np.arange(entities),
            "event_timestamp": T0,
            "f1": rng.normal(size=entities),
            "f2": rng.normal(size=entities),
        }
    ).to_parquet(folder / "latest.parquet")
    store = FeatureStore(
        backend.db,
        DatasetService(backend.db, backend.artifact_store),
        online,
        push_root=str(folder / "push"),
    )
    store.apply(
        [
            Entity(name="entity", join_keys=("entity_id",)),
            FeatureView(
                name="stats",
                entity="entity",
                source=FileSource(path=str(folder / "latest.parquet")),
                features=(Field(name="f1"), Field(name="f2")),
            ),
        ]
    )
    store.materialize(T0 - timedelta(days=1), T0 + timedelta(days=1))
    return store


def online(options: Options, backend: LocalBackend, folder: Path) -> list[Case]:
    entities, lookups = options.n(ONLINE_ENTITIES, 1_000), options.n(LOOKUPS, 200)
    cases: list[Case] = []
    sqlite_store = SqliteOnlineStore(folder / "online.db")
    store = _materialized(backend, sqlite_store, folder, entities)
    conn = sqlite3.connect(folder / "online.db", check_same_thread=False)

    def bare_sqlite(key: str) -> Any:
        row = conn.execute("SELECT ts, vals FROM latest WHERE view = 'stats' AND key = ?", (key,)).fetchone()
        return json.loads(row[1])

    cases += _lookup_cases("SQLite", store, sqlite_store, bare_sqlite, lookups, entities)
    conn.close()
    redis_client = _redis()
    if redis_client is None:
        return cases
    from modelyard.features.online.redis import RedisOnlineStore

    prefix = f"modelyard-bench:{uuid.uuid4().hex[:8]}:"
    redis_store = RedisOnlineStore(REDIS_URL, prefix=prefix)
    try:
        store = _materialized(backend, redis_store, folder, entities)

        def bare_redis(key: str) -> Any:
            _, vals = redis_client.hmget(f"{prefix}l:stats:{key}", "t", "v")
            return json.loads(vals)

        cases += _lookup_cases("Redis", store, redis_store, bare_redis, lookups, entities)
    finally:
        _drop(redis_client, prefix)
    return cases


def _redis() -> Any:
    try:
        import redis

        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
        client.ping()
        _versions["redis_server"] = str(client.info("server")["redis_version"])
        return client
    except Exception as exc:  # not installed or not running: the Redis cases are skipped
        print(f"no Redis at {REDIS_URL} ({exc}); its cases are skipped", file=sys.stderr)
        return None


def _drop(client: Any, prefix: str) -> None:
    names = list(client.scan_iter(match=f"{prefix}*", count=10_000))
    for start in range(0, len(names), 10_000):
        client.delete(*names[start : start + 10_000])


def stream(options: Options, backend: LocalBackend, folder: Path) -> list[Case]:
    client = _redis()
    if client is None:
        return []
    from modelyard.features.online.redis import RedisOnlineStore
    from modelyard.features.stream import StreamConsumer

    events = options.n(STREAM_EVENTS, 1_000)
    prefix = f"modelyard-bench:{uuid.uuid4().hex[:8]}:"
    online = RedisOnlineStore(REDIS_URL, prefix=prefix)
    datasets = DatasetService(backend.db, backend.artifact_store)
    store = FeatureStore(backend.db, datasets, online, push_root=str(folder / "push"))
    store.apply(
        [
            Entity(name="card", join_keys=("card_id",)),
            FeatureView(
                name="spend",
                entity="card",
                source=PushSource(name="tx", schema=(Field(name="amount"),)),
                features=(Field(name="amount"),),
                aggregations=(
                    Aggregation(column="amount", function="count", window=timedelta(hours=1)),
                    Aggregation(column="amount", function="sum", window=timedelta(hours=1)),
                ),
            ),
        ]
    )
    try:
        ours_stream, theirs_stream = f"{prefix}s1", f"{prefix}s2"
        for name in (ours_stream, theirs_stream):
            _produce(client, name, events)
        consumer = StreamConsumer(store, REDIS_URL, stream=ours_stream, source="tx", batch_size=1_000, block_ms=10)
        started = time.perf_counter()
        applied = consumer.run(until_idle=True)
        ours = applied / (time.perf_counter() - started)
        consumer.close()
        started = time.perf_counter()
        handled = _bare_consume(client, theirs_stream, prefix)
        theirs = handled / (time.perf_counter() - started)
    finally:
        _drop(client, prefix)
    return [
        Case(
            name=f"stream ingestion, {events:,} events",
            unit="events/s",
            modelyard=ours,
            incumbent=theirs,
            higher_is_better=True,
            note="incumbent: XREADGROUP + one HSET per event + XACK, no aggregates or idempotence (the floor)",
        )
    ]


def _produce(client: Any, stream: str, events: int) -> None:
    rng = np.random.default_rng(9)
    base = int(T0.timestamp() * 1000)
    pipe = client.pipeline(transaction=False)
    for i in range(events):
        pipe.xadd(
            stream,
            {
                "card_id": str(int(rng.integers(0, 1_000))),
                "event_timestamp": str(base + i),
                "amount": f"{rng.random():.2f}",
            },
        )
        if i % 10_000 == 9_999:
            pipe.execute()
    pipe.execute()


def _bare_consume(client: Any, stream: str, prefix: str) -> int:
    client.xgroup_create(stream, "bare", id="0")
    handled = 0
    while True:
        reply = client.xreadgroup("bare", "one", {stream: ">"}, count=1_000, block=10)
        if not reply:
            return handled
        entries = reply[0][1]
        pipe = client.pipeline(transaction=False)
        for _, fields in entries:
            pipe.hset(f"{prefix}bare:{fields[b'card_id'].decode()}", mapping=fields)
        pipe.execute()
        client.xack(stream, "bare", *[entry_id for entry_id, _ in entries])
        handled += len(entries)


def run(options: Options) -> list[Case]:
    import duckdb

    _versions.update(duckdb=duckdb.__version__, pandas=pd.__version__)
    cases = point_in_time(options)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        backend = LocalBackend.open(Settings(home=folder / "home", capture_environment=False))
        try:
            cases += online(options, backend, folder)
            cases += stream(options, backend, folder)
        finally:
            backend.db.dispose()
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    print_table(TITLE, INCUMBENT, run(Options(scale=args.scale)))


if __name__ == "__main__":
    main()
