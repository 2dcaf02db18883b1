"""The reference a window is compared with: built from a frame, or read from a stored profile.

``Reference.from_frame`` keeps each numeric column's sorted values and each categorical column's
level counts, so every test is exact (scipy's values); it also builds the column profiles a
dataset version stores. ``Reference.from_profile`` needs only those profile records
(reference-quantile bins, a percentile sketch, level counts within a size budget and a Bloom
filter of the remaining levels), so a production window is scored without reloading the training
data; KS and Wasserstein are then approximated on the sketch's ~1,000 cuts, the levels beyond the
budget are compared as one bucket (unseen levels still apart), and PSI, chi-square,
Jensen-Shannon and the missing-rate test are otherwise exact.

Column conventions follow ``domain/data.py``: missing is null/NaN (and +/-inf for numbers),
category labels are ``str(value)``, datetime columns are seconds since the epoch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from modelyard.domain.data import (
    QUANTILE_LEVELS,
    CategoricalColumnProfile,
    ColumnKind,
    DatasetProfile,
    Histogram,
    NumericColumnProfile,
    QuantileBins,
)
from modelyard.errors import InvalidInput
from modelyard.monitoring.drift.psi import bin_counts_sorted, quantile_cuts, sorted_quantiles

FloatArray = npt.NDArray[np.float64]

PSI_BINS = 10
"""Reference deciles: the PSI bins practitioners expect."""
SKETCH_BINS = 1000
"""Percentile-sketch resolution: KS D and W1/sd within ~1e-3 of exact (project notes)."""
HISTOGRAM_BINS = 20


@dataclass(frozen=True, kw_only=True)
class NumericReference:
    """A numeric column's profile, plus its sorted non-missing values when built from a frame."""

    profile: NumericColumnProfile
    sorted_values: FloatArray | None = field(default=None, repr=False, compare=False)

    @property
    def name(self) -> str:
        return self.profile.name


@dataclass(frozen=True, kw_only=True)
class CategoricalReference:
    """A categorical (or boolean) column's profile, plus every level's exact count when built from a frame.

    A stored profile lists the levels its size budget holds and sketches the rest, so from a
    profile the rarest levels are compared as one "other" bucket; ``counts`` keeps them all.
    """

    profile: CategoricalColumnProfile
    counts: dict[str, int] | None = field(default=None, repr=False, compare=False)

    @property
    def name(self) -> str:
        return self.profile.name

    def unseen_levels(self, labels: Sequence[str]) -> list[str] | None:
        """The ``labels`` the reference never held; ``None`` when its profile cannot tell."""
        if self.counts is not None:
            return [label for label in labels if label not in self.counts]
        return self.profile.unseen_levels(labels)


ColumnReference = NumericReference | CategoricalReference


@dataclass(frozen=True, kw_only=True)
class Reference:
    """Per-column references, in column order. ``exact`` when every numeric column kept its values.

    ``skipped`` names the frame's columns left out (datetime columns not asked for by name).
    """

    row_count: int
    columns: tuple[ColumnReference, ...]
    skipped: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def exact(self) -> bool:
        return all(c.sorted_values is not None for c in self.columns if isinstance(c, NumericReference))

    def column(self, name: str) -> ColumnReference:
        for col in self.columns:
            if col.name == name:
                return col
        raise InvalidInput(f"the reference has no column {name!r}", columns=list(self.names))

    def to_profile(self) -> DatasetProfile:
        """The profile records to store with a dataset version (no raw values)."""
        return DatasetProfile(row_count=self.row_count, columns=tuple(c.profile for c in self.columns))

    @classmethod
    def from_profile(cls, profile: DatasetProfile) -> Reference:
        """A reference from stored profile records: KS/Wasserstein are then sketch approximations."""
        columns: list[ColumnReference] = []
        for col in profile.columns:
            if isinstance(col, NumericColumnProfile):
                columns.append(NumericReference(profile=col))
            else:
                columns.append(CategoricalReference(profile=col))
        return cls(row_count=profile.row_count, columns=tuple(columns))

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame | pd.Series,
        *,
        columns: Iterable[str] | None = None,
        categorical: Iterable[str] = (),
        psi_bins: int = PSI_BINS,
        sketch_bins: int = SKETCH_BINS,
    ) -> Reference:
        """An exact reference from a frame (or one Series, e.g. the predictions).

        ``columns`` restricts and orders the columns; datetime columns are included only when
        named there. ``categorical`` names numeric columns to treat as categories (codes, ids).
        """
        df = _as_frame(frame)
        forced = set(categorical)
        selected = select_columns(df, columns)
        refs: list[ColumnReference] = []
        for name in selected:
            kind = column_kind(df[name], categorical=name in forced)
            if kind.is_numeric:
                values = numeric_values(df[name], kind)
                refs.append(_numeric_reference(str(name), kind, df[name], values, psi_bins, sketch_bins))
            else:
                counts = level_counts(df[name])
                profile = CategoricalColumnProfile.from_counts(
                    name=str(name), kind=kind, dtype=str(df[name].dtype), row_count=len(df), counts=counts
                )
                refs.append(CategoricalReference(profile=profile, counts=counts))
        skipped = tuple(str(c) for c in df.columns if str(c) not in selected)
        return cls(row_count=len(df), columns=tuple(refs), skipped=skipped)


def select_columns(df: pd.DataFrame, columns: Iterable[str] | None) -> list[str]:
    """The columns to test: those named (all must exist), else every non-datetime column."""
    if columns is None:
        return [str(c) for c in df.columns if column_kind(df[c]) is not ColumnKind.DATETIME]
    names = [str(c) for c in columns]
    missing = [c for c in names if c not in df.columns]
    if missing:
        raise InvalidInput(f"no such column(s): {', '.join(missing)}", columns=[str(c) for c in df.columns])
    return names


def column_kind(series: pd.Series, *, categorical: bool = False) -> ColumnKind:
    """How a column is tested, from its dtype (not from counting its distinct values)."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return ColumnKind.BOOLEAN
    if categorical:
        return ColumnKind.CATEGORICAL
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return ColumnKind.DATETIME
    if pd.api.types.is_numeric_dtype(dtype):
        return ColumnKind.NUMERIC
    return ColumnKind.CATEGORICAL


def numeric_values(series: pd.Series, kind: ColumnKind) -> FloatArray:
    """The column as float64 with every missing value (null, NaN, +/-inf) as NaN."""
    try:
        if kind is ColumnKind.DATETIME:
            ts = pd.to_datetime(series, utc=True)
            seconds = (ts - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)
            return np.asarray(seconds.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
        return np.asarray(series.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"column {series.name!r} is {kind.value} in the reference but its values here are not",
            dtype=str(series.dtype),
        ) from exc


def level_counts(series: pd.Series) -> dict[str, int]:
    """Non-missing level counts keyed by ``str(value)``, most frequent first (ties by label).

    Counted on the raw values first (hashing, no per-row string conversion), then merged by label
    so that ``1`` and ``"1"`` are one level.
    """
    counts = series.value_counts(dropna=True, sort=False)
    merged: dict[str, int] = {}
    for value, count in zip(counts.index, counts.to_numpy(), strict=True):
        label = str(value)
        merged[label] = merged.get(label, 0) + int(count)
    return dict(sorted(merged.items(), key=lambda kv: (-kv[1], kv[0])))


def _as_frame(frame: pd.DataFrame | pd.Series) -> pd.DataFrame:
    if isinstance(frame, pd.Series):
        return frame.to_frame(name=str(frame.name) if frame.name is not None else "value")
    if isinstance(frame, pd.DataFrame):
        return frame
    raise InvalidInput("a reference or window must be a pandas DataFrame or Series", got=type(frame).__name__)


def _numeric_reference(
    name: str, kind: ColumnKind, series: pd.Series, values: FloatArray, psi_bins: int, sketch_bins: int
) -> NumericReference:
    finite = values[np.isfinite(values)]
    finite.sort()
    return NumericReference(
        profile=numeric_profile(name, kind, str(series.dtype), values.size, finite, psi_bins, sketch_bins),
        sorted_values=finite,
    )


def numeric_profile(
    name: str,
    kind: ColumnKind,
    dtype: str,
    row_count: int,
    sorted_values: FloatArray,
    psi_bins: int = PSI_BINS,
    sketch_bins: int = SKETCH_BINS,
) -> NumericColumnProfile:
    """A numeric profile record from the column's sorted finite values (no second sort)."""
    n = sorted_values.size
    bins_cuts = quantile_cuts(sorted_values, psi_bins) if n else np.empty(0)
    sketch_cuts = quantile_cuts(sorted_values, sketch_bins) if n else np.empty(0)
    return NumericColumnProfile(
        name=name,
        kind=kind,
        dtype=dtype,
        row_count=row_count,
        missing_count=row_count - n,
        min=float(sorted_values[0]) if n else None,
        max=float(sorted_values[-1]) if n else None,
        mean=float(sorted_values.mean()) if n else None,
        std=float(sorted_values.std()) if n else None,
        quantile_levels=QUANTILE_LEVELS,
        quantiles=tuple(float(q) for q in sorted_quantiles(sorted_values, QUANTILE_LEVELS)) if n else (),
        bins=_quantile_bins(sorted_values, bins_cuts),
        sketch=_quantile_bins(sorted_values, sketch_cuts),
        histogram=_histogram(sorted_values),
    )


def _quantile_bins(sorted_values: FloatArray, cuts: FloatArray) -> QuantileBins:
    counts = bin_counts_sorted(sorted_values, cuts)
    return QuantileBins(cuts=tuple(float(c) for c in cuts), counts=tuple(int(c) for c in counts))


def _histogram(sorted_values: FloatArray) -> Histogram:
    if sorted_values.size == 0:
        return Histogram(edges=(), counts=())
    lo, hi = float(sorted_values[0]), float(sorted_values[-1])
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, HISTOGRAM_BINS + 1)
    idx = np.searchsorted(sorted_values, edges, side="left")
    idx[-1] = sorted_values.size  # numpy.histogram closes the last bin
    return Histogram(edges=tuple(float(e) for e in edges), counts=tuple(int(c) for c in np.diff(idx)))
