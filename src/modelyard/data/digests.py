"""The canonical form of a dataset's content, and its digest.

Rule (what makes two logged datasets "the same version"):

1. The frame becomes an Arrow table with ``pa.Table.from_pandas(frame, preserve_index=False)``:
   the **index is dropped** (``reset_index()`` first to keep it), columns keep their **given
   order**, rows keep theirs, and each column keeps its Arrow type (so ``int64`` and ``float64``
   holding the same numbers are different content). Column names must be unique strings.
2. Schema metadata is removed (pandas writes its own version into it) and chunks are combined,
   so how the frame was built or chunked does not matter.
3. The table is written to Parquet with the fixed options of ``_WRITER_OPTIONS`` (format 2.6,
   zstd level 3, dictionary encoding, statistics, one row group per 1 048 576 rows, the Arrow
   schema stored so a load gives back the same types).
4. The digest is the SHA-256 of those bytes, as 64 lower-case hex digits.

So the same content gives the same digest in every run and process; reordered columns or rows,
a changed type or a changed value give a new one. The Parquet footer names the writing library
(``parquet-cpp-arrow version X``), so a different pyarrow release may write different bytes for
the same content: the digest is stable for one pyarrow version, recorded next to it.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from modelyard.errors import InvalidInput, NotFound

ROW_GROUP_SIZE = 1 << 20
_WRITER_OPTIONS: dict[str, Any] = {
    "version": "2.6",
    "compression": "zstd",
    "compression_level": 3,
    "use_dictionary": True,
    "write_statistics": True,
    "data_page_version": "1.0",
    "write_page_index": False,
    "store_schema": True,
    "row_group_size": ROW_GROUP_SIZE,
}
_CSV_SUFFIXES = (".csv", ".tsv", ".csv.gz", ".tsv.gz")
_PARQUET_SUFFIXES = (".parquet", ".pq")


@dataclass(frozen=True, kw_only=True)
class CanonicalData:
    """A dataset's content in canonical form: the Arrow table, its Parquet bytes and their digest."""

    table: pa.Table
    parquet: bytes
    digest: str


def read_source(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a CSV (``.csv``/``.tsv``, optionally gzipped) or Parquet file into a frame."""
    file = Path(path)
    if not file.is_file():
        raise NotFound(f"no such dataset file: {file}")
    name = file.name.lower()
    try:
        if name.endswith(_PARQUET_SUFFIXES):
            return pd.read_parquet(file)
        if name.endswith(_CSV_SUFFIXES):
            return pd.read_csv(file, sep="\t" if ".tsv" in name else ",")
    except (ValueError, OSError, pa.ArrowException) as exc:
        raise InvalidInput(f"cannot read dataset file {file}: {exc}") from exc
    raise InvalidInput(f"cannot tell the format of {file}: expected a .csv, .tsv, .parquet or .pq file")


def to_table(frame: pd.DataFrame | pa.Table) -> pa.Table:
    """Steps 1-2 of the rule: an Arrow table without index, metadata or chunk boundaries."""
    if isinstance(frame, pa.Table):
        table = frame
    elif isinstance(frame, pd.DataFrame):
        if isinstance(frame.columns, pd.MultiIndex):
            raise InvalidInput("a dataset cannot have multi-level column names; flatten them first")
        names = [str(c) for c in frame.columns]
        if not all(isinstance(c, str) for c in frame.columns):
            frame = frame.set_axis(names, axis=1)
        _check_names(names)
        try:
            with warnings.catch_warnings():
                # pyarrow reads tz-aware columns through an API pandas has deprecated; the values are right.
                warnings.simplefilter("ignore", DeprecationWarning)
                table = pa.Table.from_pandas(frame, preserve_index=False)
        except (pa.ArrowException, ValueError, TypeError) as exc:
            raise InvalidInput(f"this frame cannot be stored as a dataset: {exc}") from exc
    else:
        raise InvalidInput(
            f"a dataset is a pandas DataFrame, a pyarrow Table or a path to a CSV/Parquet file, "
            f"not {type(frame).__name__}"
        )
    _check_names(table.column_names)
    if table.num_columns == 0:
        raise InvalidInput("a dataset needs at least one column")
    return table.replace_schema_metadata(None).combine_chunks()


def canonicalize(frame: pd.DataFrame | pa.Table) -> CanonicalData:
    """Apply the whole rule: the canonical table, Parquet bytes and digest of ``frame``."""
    table = to_table(frame)
    sink = pa.BufferOutputStream()
    try:
        pq.write_table(table, sink, **_WRITER_OPTIONS)
    except (pa.ArrowException, ValueError) as exc:
        raise InvalidInput(f"this dataset cannot be written as Parquet: {exc}") from exc
    data = sink.getvalue().to_pybytes()
    return CanonicalData(table=table, parquet=data, digest=hashlib.sha256(data).hexdigest())


def content_digest(frame: pd.DataFrame | pa.Table) -> str:
    """The digest ``frame`` would be stored under (64 hex digits)."""
    return canonicalize(frame).digest


def parquet_to_frame(data: bytes, columns: list[str] | None = None) -> pd.DataFrame:
    """Load stored canonical bytes back into a frame (optionally only some columns)."""
    return pq.read_table(pa.BufferReader(data), columns=columns).to_pandas()


def parquet_to_table(data: bytes, columns: list[str] | None = None) -> pa.Table:
    return pq.read_table(pa.BufferReader(data), columns=columns)


def _check_names(names: list[str]) -> None:
    seen: set[str] = set()
    dupes = sorted({n for n in names if n in seen or seen.add(n)})  # type: ignore[func-returns-value]
    if dupes:
        raise InvalidInput(f"a dataset's column names must be unique; repeated: {', '.join(dupes)}")
