"""Reading feature sources into DuckDB, where the point-in-time joins run.

Each source becomes a named relation on a DuckDB connection without passing through pandas
where DuckDB can read it itself: files (Parquet or CSV, local paths, globs, or any fsspec URL,
whose filesystem is registered with DuckDB) are scanned in place; a dataset version is read from
the artifact store (checked against its digest) as Arrow; a SQL source runs on the store's own
database; a push source reads what was pushed to the offline store plus its ``batch_source``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import fsspec
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from modelyard.data import DatasetService
from modelyard.domain.features import DatasetSource, FileSource, PushSource, Source, SqlSource
from modelyard.domain.lineage import NodeKind, NodeRef
from modelyard.errors import InvalidInput, NotFound
from modelyard.store.db import Database


def quote(name: str) -> str:
    """A DuckDB identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    """A DuckDB string literal."""
    return "'" + value.replace("'", "''") + "'"


def source_node(source: Source, datasets: DatasetService | None) -> NodeRef:
    """The lineage node of a source: its dataset version when it is one, else a ``feature_source``."""
    if isinstance(source, DatasetSource) and datasets is not None:
        return NodeRef(kind=NodeKind.DATASET_VERSION, id=datasets.resolve(source.uri).node_id)
    return NodeRef(kind=NodeKind.FEATURE_SOURCE, id=source.label)


class SourceReader:
    """Registers sources on DuckDB connections; ``push_root`` is where pushed rows are kept offline."""

    def __init__(self, db: Database, datasets: DatasetService, push_root: str) -> None:
        self._db = db
        self._datasets = datasets
        self.push_root = push_root.rstrip("/")

    def push_folder(self, name: str) -> str:
        return f"{self.push_root}/{name}"

    def register(self, con: duckdb.DuckDBPyConnection, source: Source, name: str) -> bool:
        """Make ``source`` readable as ``name`` on ``con``; ``False`` when it holds no rows yet
        (a push source nothing was pushed to)."""
        if isinstance(source, FileSource):
            con.execute(f"CREATE OR REPLACE TEMP VIEW {quote(name)} AS SELECT * FROM {self._file_scan(con, source)}")
            return True
        if isinstance(source, DatasetSource):
            version = self._datasets.resolve(source.uri)
            table = pq.read_table(pa.BufferReader(self._datasets.read_bytes(version)))
            con.register(name, table)
            return True
        if isinstance(source, SqlSource):
            con.register(name, self._query(source))
            return True
        return self._register_push(con, source, name)

    def _file_scan(self, con: duckdb.DuckDBPyConnection, source: FileSource) -> str:
        path = source.path
        protocol = path.split("://", 1)[0] if "://" in path else "file"
        if protocol == "file":
            path = path.removeprefix("file://")
            if not any(ch in path for ch in "*?[") and not Path(path).expanduser().exists():
                raise NotFound(f"feature source file {path} does not exist")
            path = str(Path(path).expanduser())
        else:
            fs, _ = fsspec.core.url_to_fs(path)
            if not con.filesystem_is_registered(fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]):
                con.register_filesystem(fs)
        if source.format == "csv":
            return f"read_csv_auto({literal(path)})"
        return f"read_parquet({literal(path)}, union_by_name = true)"

    def _query(self, source: SqlSource) -> pa.Table:
        try:
            with self._db.read() as conn:
                result = conn.execute(text(source.query))
                frame = pd.DataFrame.from_records(result.fetchall(), columns=list(result.keys()))
        except SQLAlchemyError as exc:
            raise InvalidInput(f"the SQL source failed on the store: {getattr(exc, 'orig', None) or exc}") from exc
        return pa.Table.from_pandas(frame, preserve_index=False)

    def _register_push(self, con: duckdb.DuckDBPyConnection, source: PushSource, name: str) -> bool:
        parts: list[str] = []
        folder = self.push_folder(source.name)
        fs, root = fsspec.core.url_to_fs(folder)
        if fs.exists(root) and fs.glob(f"{root}/*.parquet"):
            parts.append(
                self._file_scan(con, FileSource(path=f"{folder}/*.parquet", timestamp_field=source.timestamp_field))
            )
        if source.batch_source is not None:
            parts.append(self._file_scan(con, source.batch_source))
        if not parts:
            return False
        body = " UNION ALL BY NAME ".join(f"SELECT * FROM {p}" for p in parts)
        con.execute(f"CREATE OR REPLACE TEMP VIEW {quote(name)} AS {body}")
        return True

    def columns(self, con: duckdb.DuckDBPyConnection, name: str) -> dict[str, str]:
        """Column name -> DuckDB type of a registered relation."""
        rel = con.sql(f"SELECT * FROM {quote(name)} LIMIT 0")
        return {c: str(t) for c, t in zip(rel.columns, rel.types, strict=True)}


def write_push_file(folder: str, table: pa.Table, file_name: str, storage_options: dict[str, Any] | None = None) -> str:
    """Append pushed rows to the offline store as one more Parquet file of ``folder``."""
    fs, root = fsspec.core.url_to_fs(folder, **(storage_options or {}))
    fs.makedirs(root, exist_ok=True)
    path = f"{root}/{file_name}"
    with fs.open(path, "wb") as handle:
        pq.write_table(table, handle)
    return path
