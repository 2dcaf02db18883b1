"""Point-in-time correct training data: the offline store, computed by DuckDB.

For every entity row (join keys + a timestamp) and every asked-for feature, the answer is the
feature's latest value stamped **at or before** the row's timestamp and, when the view has a
``ttl``, no older than ``ttl`` before it; a value stamped later (even by a millisecond) is never
used, so nothing leaks from the future into training data. This is DuckDB's ``ASOF LEFT JOIN``
(one per feature view, in one query). Windowed aggregates are a range join: the source's events
in ``(t - window, t]`` for each row, grouped per row.

Nothing is loaded into pandas on the way: entity rows may be a file, an Arrow table or a stream
of record batches (``pa.RecordBatchReader``), sources are scanned by DuckDB, and the answer
comes back as Arrow record batches (``HistoricalFeatures.batches``), which DuckDB spills to disk
when they outgrow memory. Only on-demand features go through pandas, one batch at a time.
Timestamps are compared in UTC; a timezone-aware column is converted, a naive one taken as UTC.
Rows come back in the order they were given.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TypeAlias

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from modelyard.domain.data import DatasetVersion
from modelyard.domain.features import AggregationFunction, DatasetSource, FeatureView, ValueType
from modelyard.errors import InvalidInput, NotFound
from modelyard.features import on_demand
from modelyard.features.refs import Resolved, ViewRequest
from modelyard.features.sources import SourceReader, literal, quote

DEFAULT_TIMESTAMP_COLUMN = "event_timestamp"
DEFAULT_BATCH_ROWS = 131_072
EntityInput: TypeAlias = pd.DataFrame | pa.Table | pa.RecordBatchReader | str | os.PathLike[str]

DUCKDB_TYPES: dict[ValueType, str] = {
    ValueType.INT64: "BIGINT",
    ValueType.FLOAT64: "DOUBLE",
    ValueType.STRING: "VARCHAR",
    ValueType.BOOL: "BOOLEAN",
    ValueType.TIMESTAMP: "TIMESTAMP",
}
_ENTITIES = "__my_entities"
_ROW = "__my_row"
_TS = "__my_ts"
_ZERO_WHEN_EMPTY = (AggregationFunction.COUNT, AggregationFunction.SUM)


def connect(memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection comparing timestamps in UTC."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    if memory_limit:
        con.execute(f"SET memory_limit = {literal(memory_limit)}")
    return con


def register_entities(con: duckdb.DuckDBPyConnection, entities: EntityInput) -> list[str]:
    """Make the entity rows readable as one relation with their position in ``__my_row`` (so the
    answer keeps their order without a window function over the whole input); returns the
    entity columns."""
    if isinstance(entities, pd.DataFrame):
        entities = pa.Table.from_pandas(entities, preserve_index=False)
    if isinstance(entities, pa.Table):
        columns = list(entities.column_names)
        _check_free(columns)
        con.register(_ENTITIES, entities.append_column(_ROW, pa.array(np.arange(entities.num_rows, dtype=np.int64))))
        return columns
    if isinstance(entities, pa.RecordBatchReader):
        columns = list(entities.schema.names)
        _check_free(columns)
        con.register(_ENTITIES, _numbered(entities))
        return columns
    if isinstance(entities, str | os.PathLike):
        path = Path(entities).expanduser()
        if not path.exists():
            raise NotFound(f"no entity file {path}")
        if path.name.lower().endswith((".csv", ".csv.gz")):
            scan = f"SELECT *, row_number() OVER () AS {_ROW} FROM read_csv_auto({literal(str(path))})"
        else:
            scan = (
                f"SELECT * EXCLUDE (file_row_number), file_row_number AS {_ROW} "
                f"FROM read_parquet({literal(str(path))}, file_row_number = true)"
            )
        con.execute(f"CREATE OR REPLACE TEMP VIEW {_ENTITIES} AS {scan}")
        columns = [c for c in con.sql(f"SELECT * FROM {_ENTITIES} LIMIT 0").columns if c != _ROW]
        _check_free(columns)
        return columns
    raise InvalidInput(
        "entity rows are a pandas DataFrame, a pyarrow Table or RecordBatchReader, or a Parquet/CSV path, "
        f"not {type(entities).__name__}"
    )


def _check_free(columns: list[str]) -> None:
    taken = [c for c in columns if c.startswith("__my_")]
    if taken:
        raise InvalidInput(f"entity columns may not start with '__my_' (reserved): {', '.join(taken)}")


def _numbered(reader: pa.RecordBatchReader) -> pa.RecordBatchReader:
    """``reader`` with each row's position appended, batch by batch (still a stream)."""
    schema = reader.schema.append(pa.field(_ROW, pa.int64()))

    def batches() -> Iterator[pa.RecordBatch]:
        offset = 0
        for batch in reader:
            rows = pa.array(np.arange(offset, offset + batch.num_rows, dtype=np.int64))
            offset += batch.num_rows
            yield pa.RecordBatch.from_arrays([*batch.columns, rows], schema=schema)

    return pa.RecordBatchReader.from_batches(schema, batches())


def _hidden(request: ViewRequest, feature: str) -> str:
    return f"__my_h_{request.view.name}__{feature}"


def column_names(resolved: Resolved) -> dict[tuple[str, str], str]:
    """(view, feature) -> the column the SQL gives it: the output name, or a hidden one."""
    names = {(o.view, o.feature): o.column for o in resolved.outputs}
    for request in resolved.views:
        for feature in request.features:
            names.setdefault((request.view.name, feature), _hidden(request, feature))
    return names


def build_query(
    resolved: Resolved, available: dict[str, bool], timestamp_column: str, entity_columns: list[str]
) -> str:
    """The point-in-time query over the registered entity relation and ``__my_src_<view>`` sources."""
    names = column_names(resolved)
    ctes = [f"__my_e AS (SELECT *, CAST({quote(timestamp_column)} AS TIMESTAMP) AS {_TS} FROM {_ENTITIES})"]
    joins: list[str] = []
    selects = [f"__my_e.{quote(c)}" for c in entity_columns]
    for i, request in enumerate(resolved.views):
        view = request.view
        keys = request.entity.join_keys
        src = quote(f"__my_src_{view.name}")
        ts = quote(view.source.timestamp_field)
        plain = [f for f in request.features if f in {x.name for x in view.features}]
        aggs = [a for a in view.aggregations if a.name in request.features]
        has_data = available[view.name]
        if plain and has_data:
            alias = f"__my_v{i}"
            cols = ", ".join([*(quote(k) for k in keys), f"CAST({ts} AS TIMESTAMP) AS {_TS}"])
            vals = ", ".join(f"{quote(f)} AS {quote(f'__my_f{j}')}" for j, f in enumerate(plain))
            ctes.append(f"{alias} AS (SELECT {cols}, {vals} FROM {src})")
            on = " AND ".join(
                [*(f"__my_e.{quote(k)} = {alias}.{quote(k)}" for k in keys), f"__my_e.{_TS} >= {alias}.{_TS}"]
            )
            joins.append(f"ASOF LEFT JOIN {alias} ON {on}")
            for j, f in enumerate(plain):
                value = f"{alias}.{quote(f'__my_f{j}')}"
                if view.ttl_ms is not None:
                    value = f"CASE WHEN {alias}.{_TS} >= __my_e.{_TS} - to_milliseconds({view.ttl_ms}) THEN {value} END"
                selects.append(f"CAST({value} AS {DUCKDB_TYPES[view.dtype_of(f)]}) AS {quote(names[(view.name, f)])}")
        else:
            for f in plain:
                selects.append(f"CAST(NULL AS {DUCKDB_TYPES[view.dtype_of(f)]}) AS {quote(names[(view.name, f)])}")
        if aggs and has_data:
            alias = f"__my_a{i}"
            widest = max(a.window_ms for a in aggs)
            on = " AND ".join(
                [
                    *(f"__my_e.{quote(k)} = s.{quote(k)}" for k in keys),
                    f"CAST(s.{ts} AS TIMESTAMP) <= __my_e.{_TS}",
                    f"CAST(s.{ts} AS TIMESTAMP) > __my_e.{_TS} - to_milliseconds({widest})",
                ]
            )
            parts = []
            for j, a in enumerate(aggs):
                inside = f"CAST(s.{ts} AS TIMESTAMP) > __my_e.{_TS} - to_milliseconds({a.window_ms})"
                arg = "*" if a.function is AggregationFunction.COUNT else f"s.{quote(a.column)}"
                fn = {"mean": "avg"}.get(a.function.value, a.function.value)
                parts.append(f"{fn}({arg}) FILTER (WHERE {inside}) AS {quote(f'__my_g{j}')}")
            ctes.append(
                f"{alias} AS (SELECT __my_e.{_ROW}, {', '.join(parts)} FROM __my_e JOIN {src} s ON {on} "
                f"GROUP BY __my_e.{_ROW})"
            )
            joins.append(f"LEFT JOIN {alias} ON {alias}.{_ROW} = __my_e.{_ROW}")
            for j, a in enumerate(aggs):
                value = f"{alias}.{quote(f'__my_g{j}')}"
                if a.function in _ZERO_WHEN_EMPTY:
                    value = f"coalesce({value}, 0)"
                selects.append(f"CAST({value} AS {DUCKDB_TYPES[a.dtype]}) AS {quote(names[(view.name, a.name)])}")
        else:
            for a in aggs:
                empty = "0" if a.function in _ZERO_WHEN_EMPTY else "NULL"
                selects.append(f"CAST({empty} AS {DUCKDB_TYPES[a.dtype]}) AS {quote(names[(view.name, a.name)])}")
    return f"WITH {', '.join(ctes)} SELECT {', '.join(selects)} FROM __my_e {' '.join(joins)} ORDER BY __my_e.{_ROW}"


def check_columns(resolved: Resolved, entity_columns: list[str], timestamp_column: str) -> None:
    """Entity rows carry the timestamp, every join key and request field, and no feature's name."""
    if timestamp_column not in entity_columns:
        raise InvalidInput(
            f"entity rows need a {timestamp_column!r} column (the time each row's features are wanted for); "
            f"they have {', '.join(entity_columns)}"
        )
    missing = [k for k in resolved.join_keys + resolved.request_fields if k not in entity_columns]
    if missing:
        raise InvalidInput(f"entity rows lack column(s) {', '.join(missing)} that the asked-for features need")
    clash = [o.column for o in resolved.outputs if o.column in entity_columns]
    if clash:
        raise InvalidInput(f"entity rows already have column(s) named like features: {', '.join(clash)}")


def check_source(reader: SourceReader, con: duckdb.DuckDBPyConnection, view: FeatureView, name: str) -> None:
    """A source has the view's join keys, timestamp and feature columns (one clear error otherwise)."""
    present = reader.columns(con, name)
    needed = [view.source.timestamp_field, *(f.name for f in view.features), *(a.column for a in view.aggregations)]
    missing = sorted({c for c in needed if c not in present})
    if missing:
        where = view.source.uri if isinstance(view.source, DatasetSource) else view.source.label
        raise InvalidInput(f"the source of feature view {view.name!r} ({where}) lacks column(s) {', '.join(missing)}")


class HistoricalFeatures:
    """The answer of ``get_historical_features``: read it once, as batches, a table, a frame or a file."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        query: str,
        resolved: Resolved,
        entity_columns: list[str],
        *,
        batch_rows: int = DEFAULT_BATCH_ROWS,
    ) -> None:
        self._con = con
        self._query = query
        self.resolved = resolved
        self._entity_columns = entity_columns
        self._batch_rows = batch_rows
        self._names = column_names(resolved)
        self._consumed = False
        self._table: pa.Table | None = None
        self.dataset: DatasetVersion | None = None  # set when the result was logged as a dataset version

    def keep(self, table: pa.Table, dataset: DatasetVersion) -> None:
        """Hold the result read in full (and the dataset version it was logged as); reads repeat."""
        self._table = table
        self.dataset = dataset

    @property
    def columns(self) -> list[str]:
        return [*self._entity_columns, *(o.column for o in self.resolved.outputs)]

    def batches(self) -> Iterator[pa.RecordBatch]:
        """The rows as Arrow record batches, in entity order; the result can be read once."""
        if self._table is not None:
            yield from self._table.to_batches(self._batch_rows)
            return
        if self._consumed:
            raise InvalidInput("this result was already read; ask get_historical_features again")
        self._consumed = True
        try:
            reader = self._con.sql(self._query).to_arrow_reader(self._batch_rows)
            for batch in reader:
                yield self._finish(batch)
        except duckdb.Error as exc:
            raise InvalidInput(f"the point-in-time join failed: {exc}") from exc
        finally:
            self._con.close()

    def _finish(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        if not self.resolved.on_demand:
            return batch
        frame = batch.to_pandas()
        wanted = {(o.view, o.feature): o.column for o in self.resolved.outputs}
        for odv in self.resolved.on_demand:
            scope = frame[[f.name for f in odv.request_fields]].copy()
            for source in odv.sources:
                for request in self.resolved.views:
                    if request.view.name == source:
                        for feature in request.features:
                            scope[feature] = frame[self._names[(source, feature)]]
            for name, series in on_demand.compute(odv, scope).items():
                if (odv.name, name) in wanted:
                    frame[wanted[(odv.name, name)]] = series
        return pa.RecordBatch.from_pandas(frame[self.columns], preserve_index=False)

    def to_arrow(self) -> pa.Table:
        batches = list(self.batches())
        if not batches:
            raise InvalidInput("no entity rows were given")
        return pa.Table.from_batches(batches)

    def to_pandas(self) -> pd.DataFrame:
        return self.to_arrow().to_pandas()

    def to_parquet(self, path: str | os.PathLike[str]) -> int:
        """Stream the rows into a Parquet file (never all in memory); returns the row count."""
        rows = 0
        writer: pq.ParquetWriter | None = None
        try:
            for batch in self.batches():
                if writer is None:
                    writer = pq.ParquetWriter(str(path), batch.schema)
                writer.write_batch(batch)
                rows += batch.num_rows
        finally:
            if writer is not None:
                writer.close()
        return rows
