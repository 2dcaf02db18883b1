"""Profiling: one ``DatasetProfile`` from a dataset's canonical Arrow table, exact, no raw rows.

What each column gets (the record definitions and conventions are in ``modelyard.domain.data``):

- **kind** from the Arrow type: booleans are ``boolean``; integers, floats and decimals
  ``numeric``; timestamps and dates ``datetime`` (described in seconds since the epoch, UTC);
  durations ``numeric`` (in seconds); everything else (strings, dictionaries, nested values)
  ``categorical``.
- **numeric/datetime**: missing count (null, NaN, +/-inf), min, max, mean, population std, the
  ``QUANTILE_LEVELS`` quantiles as ``numpy.quantile`` computes them (linear interpolation, so they
  match numpy exactly), ``bins`` = counts on the reference's deciles, ``sketch`` = counts on its
  percentiles (both deduplicated, open-ended outer bins), and an equal-width ``histogram``
  (``numpy.histogram``, 20 bins by default).
- **categorical/boolean**: missing count, exact distinct count, exact counts of the most frequent
  levels (``str(value)``, ties by label) while they fit 48 KiB of JSON, and the remaining levels'
  total count (``other_count``) with a Bloom filter of their labels (at most 12 KiB), so a level the
  data never held is recognised from the profile alone (``modelyard.domain.sketches``).

The same binning (``bin_counts``) scores any later sample on these cuts, which is what the
monitoring drift tests and ``datasets diff`` do.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from modelyard.domain.data import (
    QUANTILE_LEVELS,
    CategoricalColumnProfile,
    ColumnKind,
    ColumnProfile,
    ColumnSchema,
    DatasetProfile,
    Histogram,
    NumericColumnProfile,
    QuantileBins,
)
from modelyard.errors import InvalidInput

BIN_LEVELS: tuple[float, ...] = tuple(round(i / 10, 2) for i in range(1, 10))
"""Cut levels of ``NumericColumnProfile.bins``: the reference's deciles (PSI's bins)."""

SKETCH_LEVELS: tuple[float, ...] = tuple(round(i / 100, 2) for i in range(1, 100))
"""Cut levels of ``NumericColumnProfile.sketch``: the percentiles (KS and Wasserstein estimates)."""

HISTOGRAM_BINS = 20

_SECONDS_PER_UNIT = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}


def column_kind(dtype: pa.DataType) -> ColumnKind:
    """How a column of Arrow type ``dtype`` is profiled."""
    if pa.types.is_dictionary(dtype):
        return ColumnKind.CATEGORICAL
    if pa.types.is_boolean(dtype):
        return ColumnKind.BOOLEAN
    if pa.types.is_integer(dtype) or pa.types.is_floating(dtype) or pa.types.is_decimal(dtype):
        return ColumnKind.NUMERIC
    if pa.types.is_duration(dtype):
        return ColumnKind.NUMERIC
    if pa.types.is_timestamp(dtype) or pa.types.is_date(dtype):
        return ColumnKind.DATETIME
    return ColumnKind.CATEGORICAL


def schema_of(table: pa.Table) -> tuple[ColumnSchema, ...]:
    """The stored schema: name, Arrow type and nullability per column, in column order."""
    return tuple(ColumnSchema(name=f.name, type=str(f.type), nullable=f.nullable) for f in table.schema)


def profile_table(table: pa.Table, *, histogram_bins: int = HISTOGRAM_BINS) -> DatasetProfile:
    """Profile every column of ``table`` (see the module docstring for what is kept)."""
    if histogram_bins < 1:
        raise InvalidInput("histogram_bins must be at least 1", histogram_bins=histogram_bins)
    columns: list[ColumnProfile] = []
    for name, column in zip(table.column_names, table.columns, strict=True):
        kind = column_kind(column.type)
        if kind.is_numeric:
            columns.append(_numeric(name, kind, column, histogram_bins))
        else:
            columns.append(_categorical(name, kind, column))
    return DatasetProfile(row_count=table.num_rows, columns=tuple(columns))


# -- numeric -------------------------------------------------------------------------------------


def numeric_values(column: pa.ChunkedArray | pa.Array) -> npt.NDArray[np.float64]:
    """The column as float64 with every missing value (null, NaN, inf) as NaN; datetimes in seconds."""
    dtype = column.type
    if pa.types.is_timestamp(dtype) or pa.types.is_duration(dtype):
        raw = pc.cast(column, pa.int64()).to_numpy(zero_copy_only=False)
        return np.asarray(raw, dtype=np.float64) * _SECONDS_PER_UNIT[dtype.unit]
    if pa.types.is_date32(dtype):
        return np.asarray(pc.cast(column, pa.int32()).to_numpy(zero_copy_only=False), np.float64) * 86_400.0
    if pa.types.is_date64(dtype):
        return np.asarray(pc.cast(column, pa.int64()).to_numpy(zero_copy_only=False), np.float64) / 1000.0
    values = np.asarray(pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
    return np.where(np.isfinite(values), values, np.nan)


def quantile_cuts(values: npt.NDArray[np.float64], levels: Sequence[float]) -> tuple[float, ...]:
    """Strictly increasing cut points: the ``levels`` quantiles of finite ``values``, ties merged."""
    if values.size == 0:
        return ()
    return tuple(float(c) for c in np.unique(np.quantile(values, levels)))


def bin_counts(values: npt.NDArray[np.float64], cuts: Sequence[float]) -> tuple[int, ...]:
    """Counts on ``cuts`` with ``QuantileBins`` semantics: bin i holds ``[cuts[i-1], cuts[i])``.

    ``values`` must be finite (missing values already removed).
    """
    index = np.searchsorted(np.asarray(cuts, dtype=np.float64), values, side="right")
    return tuple(int(c) for c in np.bincount(index, minlength=len(cuts) + 1))


def _numeric(name: str, kind: ColumnKind, column: pa.ChunkedArray, histogram_bins: int) -> NumericColumnProfile:
    all_values = numeric_values(column)
    values = all_values[~np.isnan(all_values)]
    empty = values.size == 0
    bins_cuts = quantile_cuts(values, BIN_LEVELS)
    sketch_cuts = quantile_cuts(values, SKETCH_LEVELS)
    if empty:
        histogram = Histogram(edges=(), counts=())
    else:
        counts, edges = np.histogram(values, bins=histogram_bins)
        histogram = Histogram(edges=tuple(float(e) for e in edges), counts=tuple(int(c) for c in counts))
    return NumericColumnProfile(
        name=name,
        kind=kind,
        dtype=str(column.type),
        row_count=len(all_values),
        missing_count=int(len(all_values) - values.size),
        min=None if empty else float(values.min()),
        max=None if empty else float(values.max()),
        mean=None if empty else float(values.mean()),
        std=None if empty else float(values.std(ddof=0)),
        quantile_levels=QUANTILE_LEVELS,
        quantiles=() if empty else tuple(float(q) for q in np.quantile(values, QUANTILE_LEVELS)),
        bins=QuantileBins(cuts=bins_cuts, counts=bin_counts(values, bins_cuts)),
        sketch=QuantileBins(cuts=sketch_cuts, counts=bin_counts(values, sketch_cuts)),
        histogram=histogram,
    )


# -- categorical ---------------------------------------------------------------------------------


def level_counts(column: pa.ChunkedArray | pa.Array) -> tuple[dict[str, int], int]:
    """Exact counts per label (``str(value)``) of the non-missing values, and the missing count."""
    if pa.types.is_dictionary(column.type):
        column = pc.cast(column, column.type.value_type)
    missing = column.null_count
    counts: dict[str, int] = {}
    try:
        table = pc.value_counts(column)
        pairs: list[tuple[object, int]] = list(
            zip(table.field("values").to_pylist(), table.field("counts").to_pylist(), strict=True)
        )
    except pa.ArrowNotImplementedError:  # nested types: count their Python values
        pairs = _count_python(column.to_pylist())
    for value, count in pairs:
        if value is None:
            continue
        if isinstance(value, float) and np.isnan(value):
            missing += int(count)
            continue
        label = value if isinstance(value, str) else str(value)
        counts[label] = counts.get(label, 0) + int(count)
    return counts, int(missing)


def _count_python(values: list[object]) -> list[tuple[object, int]]:
    counts: dict[str, int] = {}
    for value in values:
        if value is not None:
            counts[str(value)] = counts.get(str(value), 0) + 1
    return list(counts.items())


def _categorical(name: str, kind: ColumnKind, column: pa.ChunkedArray) -> CategoricalColumnProfile:
    counts, _ = level_counts(column)
    return CategoricalColumnProfile.from_counts(
        name=name, kind=kind, dtype=str(column.type), row_count=len(column), counts=counts
    )
