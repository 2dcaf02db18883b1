"""Dataset records: what a dataset version's profile holds, column by column.

A profile is the *reference* every later comparison is made against: a monitor scores a production
window against the training data's profile without reloading the training data, and two dataset
versions are diffed profile to profile. So a profile keeps exactly what the drift statistics need
(counts on reference-quantile bins, a finer percentile sketch, category counts) and what a report
plots, and never a raw row.

Conventions every consumer relies on:

- **Missing** means null/NaN/NaT for every kind, and also +/-inf for numeric columns (an infinite
  value is not usable in a mean, a quantile or a bin). Missing values are excluded from every
  distribution statistic and counted in ``missing_count`` instead.
- Datetime columns are described in **seconds since the Unix epoch** (UTC for tz-aware columns), so
  they share the numeric record.
- Category labels are ``str(value)``: a profile is JSON, so ``1`` and ``"1"`` are the same level.
- Every number is a plain Python ``int`` or ``float``; ``to_dict()`` output is ``json.dumps``-able and
  ``from_dict(to_dict())`` gives back an equal record.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from modelyard.domain.sketches import LevelSketch, split_levels
from modelyard.errors import InvalidInput

PROFILE_FORMAT = 2
"""Version of the ``to_dict()`` layout; bumped when a stored profile would be read differently.

2: categorical profiles keep exact levels within a size budget plus a ``tail_sketch`` of the rest.
Format 1 profiles (top-20 levels, no sketch) still load: they cannot tell an unseen level from one
of their "other" levels, and drift results say so.
"""
READABLE_PROFILE_FORMATS = (1, 2)

OTHER_LABEL = "__other__"
"""Key of the bucket holding every category outside the listed top-K in ``frequencies()``."""

QUANTILE_LEVELS: tuple[float, ...] = (0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0)
"""The summary quantiles every numeric profile reports (numpy's default, linear interpolation)."""


class ColumnKind(enum.StrEnum):
    """How a column is described and tested: by distribution (numeric, datetime) or by level counts."""

    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    BOOLEAN = "boolean"
    DATETIME = "datetime"

    @property
    def is_numeric(self) -> bool:
        """Numeric and datetime columns get a ``NumericColumnProfile``; the others a categorical one."""
        return self in (ColumnKind.NUMERIC, ColumnKind.DATETIME)


@dataclass(frozen=True, kw_only=True)
class QuantileBins:
    """Counts on cut points taken from the *reference's* quantiles.

    Bin ``i`` holds the values in ``[cuts[i-1], cuts[i])``; the first bin is open to -inf and the
    last to +inf, so ``len(counts) == len(cuts) + 1`` and every finite value has a bin. A production
    window binned on a reference's cuts therefore loses nothing: values beyond the reference range
    land in the outer bins. Cuts are strictly increasing (tied quantiles are merged), so a column
    with few distinct values simply has fewer bins. Counts of two windows on the same cuts can be
    summed, which is what makes hourly-to-daily rollups exact.
    """

    cuts: tuple[float, ...]
    counts: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.counts) != len(self.cuts) + 1:
            raise InvalidInput(
                "QuantileBins needs exactly one more count than cuts",
                cuts=len(self.cuts),
                counts=len(self.counts),
            )
        if any(b <= a for a, b in zip(self.cuts, self.cuts[1:], strict=False)):
            raise InvalidInput("QuantileBins cuts must be strictly increasing")

    @property
    def total(self) -> int:
        return sum(self.counts)

    def to_dict(self) -> dict[str, Any]:
        return {"cuts": list(self.cuts), "counts": list(self.counts)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QuantileBins:
        return cls(cuts=tuple(float(c) for c in data["cuts"]), counts=tuple(int(c) for c in data["counts"]))


@dataclass(frozen=True, kw_only=True)
class Histogram:
    """Equal-width bins for plotting, with ``numpy.histogram`` semantics (last bin closed).

    When a window is profiled on a reference's edges, values below the first edge or above the last
    are counted in ``underflow`` / ``overflow`` rather than silently dropped.
    """

    edges: tuple[float, ...]
    counts: tuple[int, ...]
    underflow: int = 0
    overflow: int = 0

    def __post_init__(self) -> None:
        if self.edges and len(self.counts) != len(self.edges) - 1:
            raise InvalidInput("Histogram needs exactly one fewer count than edges")

    def to_dict(self) -> dict[str, Any]:
        return {
            "edges": list(self.edges),
            "counts": list(self.counts),
            "underflow": self.underflow,
            "overflow": self.overflow,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Histogram:
        return cls(
            edges=tuple(float(e) for e in data["edges"]),
            counts=tuple(int(c) for c in data["counts"]),
            underflow=int(data.get("underflow", 0)),
            overflow=int(data.get("overflow", 0)),
        )


@dataclass(frozen=True, kw_only=True)
class NumericColumnProfile:
    """A numeric (or datetime) column: summary statistics and the bins the drift tests use.

    ``bins`` (deciles of the reference by default) is what PSI needs; ``sketch`` (percentile cuts by
    default) lets KS and Wasserstein be *approximated* from the profile alone; ``histogram`` is for
    plots. ``std`` is the population standard deviation (``ddof=0``), the spread Wasserstein distance
    is normalised by. Statistics are ``None`` when the column has no non-missing value.
    """

    name: str
    kind: ColumnKind
    dtype: str
    row_count: int
    missing_count: int
    min: float | None
    max: float | None
    mean: float | None
    std: float | None
    quantile_levels: tuple[float, ...]
    quantiles: tuple[float, ...]
    bins: QuantileBins
    sketch: QuantileBins
    histogram: Histogram

    @property
    def value_count(self) -> int:
        """Rows with a usable (non-missing, finite) value."""
        return self.row_count - self.missing_count

    @property
    def missing_rate(self) -> float:
        return self.missing_count / self.row_count if self.row_count else 0.0

    def quantile(self, level: float) -> float | None:
        """The stored quantile at ``level`` (one of ``quantile_levels``)."""
        try:
            return self.quantiles[self.quantile_levels.index(level)]
        except (ValueError, IndexError):
            raise InvalidInput(
                f"quantile level {level} is not stored in this profile",
                levels=list(self.quantile_levels),
            ) from None

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "numeric",
            "name": self.name,
            "kind": self.kind.value,
            "dtype": self.dtype,
            "row_count": self.row_count,
            "missing_count": self.missing_count,
            "missing_rate": self.missing_rate,
            "min": self.min,
            "max": self.max,
            "mean": self.mean,
            "std": self.std,
            "quantile_levels": list(self.quantile_levels),
            "quantiles": list(self.quantiles),
            "bins": self.bins.to_dict(),
            "sketch": self.sketch.to_dict(),
            "histogram": self.histogram.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NumericColumnProfile:
        return cls(
            name=str(data["name"]),
            kind=ColumnKind(data["kind"]),
            dtype=str(data["dtype"]),
            row_count=int(data["row_count"]),
            missing_count=int(data["missing_count"]),
            min=_opt_float(data["min"]),
            max=_opt_float(data["max"]),
            mean=_opt_float(data["mean"]),
            std=_opt_float(data["std"]),
            quantile_levels=tuple(float(q) for q in data["quantile_levels"]),
            quantiles=tuple(float(q) for q in data["quantiles"]),
            bins=QuantileBins.from_dict(data["bins"]),
            sketch=QuantileBins.from_dict(data["sketch"]),
            histogram=Histogram.from_dict(data["histogram"]),
        )


@dataclass(frozen=True, kw_only=True)
class CategoricalColumnProfile:
    """A categorical (or boolean) column: exact counts of its most frequent levels, a sketch of the rest.

    ``values``/``counts`` list the levels that fit the profile's size budget, most frequent first
    (ties by label; see ``modelyard.domain.sketches``), and ``other_count`` counts every remaining
    non-missing row, so the counts always add up to ``value_count``. When ``other_count`` is 0 the
    profile is complete; otherwise ``tail_sketch`` remembers the remaining levels. Either way a
    level absent from the data is recognised (an *unseen* level when a window is compared to it),
    except in profiles written before sketches existed (``tells_unseen`` is then ``False``).

    A window profiled against a reference lists the reference's levels first, in the reference's
    order and even at count 0, followed by its own most frequent new levels; that keeps the
    comparison exact for every level the reference knows.
    """

    name: str
    kind: ColumnKind
    dtype: str
    row_count: int
    missing_count: int
    distinct_count: int
    values: tuple[str, ...]
    counts: tuple[int, ...]
    other_count: int
    tail_sketch: LevelSketch | None = None

    def __post_init__(self) -> None:
        if len(self.values) != len(self.counts):
            raise InvalidInput("CategoricalColumnProfile needs one count per value")

    @classmethod
    def from_counts(
        cls, *, name: str, kind: ColumnKind, dtype: str, row_count: int, counts: Mapping[str, int]
    ) -> CategoricalColumnProfile:
        """The profile of a column whose non-missing values have these exact level ``counts``."""
        exact, tail = split_levels(counts)
        listed = sum(c for _, c in exact)
        return cls(
            name=name,
            kind=kind,
            dtype=dtype,
            row_count=row_count,
            missing_count=row_count - sum(counts.values()),
            distinct_count=len(counts),
            values=tuple(v for v, _ in exact),
            counts=tuple(c for _, c in exact),
            other_count=sum(counts.values()) - listed,
            tail_sketch=LevelSketch.build(tail) if tail else None,
        )

    @property
    def tells_unseen(self) -> bool:
        """Whether a level absent from the reference can be told from one of its unlisted levels."""
        return self.other_count == 0 or self.tail_sketch is not None

    def unseen_levels(self, labels: Sequence[str]) -> list[str] | None:
        """The ``labels`` certainly absent from this column (``None`` if ``tells_unseen`` is false).

        With a ``tail_sketch``, an unseen label may be taken for a tail level at the sketch's
        false-positive rate, never the other way round.
        """
        listed = set(self.values)
        candidates = [label for label in labels if label not in listed]
        if self.other_count == 0:
            return candidates
        if self.tail_sketch is None:
            return None
        return [lab for lab, hit in zip(candidates, self.tail_sketch.might_contain(candidates), strict=True) if not hit]

    @property
    def value_count(self) -> int:
        """Rows with a non-missing value."""
        return self.row_count - self.missing_count

    @property
    def missing_rate(self) -> float:
        return self.missing_count / self.row_count if self.row_count else 0.0

    def frequencies(self) -> dict[str, int]:
        """Listed levels with their counts, plus ``"__other__"`` for the rest."""
        out = dict(zip(self.values, self.counts, strict=True))
        out[OTHER_LABEL] = self.other_count
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "categorical",
            "name": self.name,
            "kind": self.kind.value,
            "dtype": self.dtype,
            "row_count": self.row_count,
            "missing_count": self.missing_count,
            "missing_rate": self.missing_rate,
            "distinct_count": self.distinct_count,
            "values": list(self.values),
            "counts": list(self.counts),
            "other_count": self.other_count,
            "tail_sketch": None if self.tail_sketch is None else self.tail_sketch.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CategoricalColumnProfile:
        return cls(
            name=str(data["name"]),
            kind=ColumnKind(data["kind"]),
            dtype=str(data["dtype"]),
            row_count=int(data["row_count"]),
            missing_count=int(data["missing_count"]),
            distinct_count=int(data["distinct_count"]),
            values=tuple(str(v) for v in data["values"]),
            counts=tuple(int(c) for c in data["counts"]),
            other_count=int(data["other_count"]),
            tail_sketch=LevelSketch.from_dict(data["tail_sketch"]) if data.get("tail_sketch") else None,
        )


ColumnProfile: TypeAlias = NumericColumnProfile | CategoricalColumnProfile


@dataclass(frozen=True, kw_only=True)
class DatasetProfile:
    """A whole dataset's profile: its row count and one profile per column, in column order."""

    row_count: int
    columns: tuple[ColumnProfile, ...]

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise InvalidInput("a DatasetProfile cannot hold two columns with the same name")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> ColumnProfile:
        """The profile of column ``name``; ``InvalidInput`` if the dataset has no such column."""
        for col in self.columns:
            if col.name == name:
                return col
        raise InvalidInput(f"the profile has no column {name!r}", columns=list(self.names))

    def get(self, name: str) -> ColumnProfile | None:
        return next((c for c in self.columns if c.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": PROFILE_FORMAT,
            "row_count": self.row_count,
            "columns": [c.to_dict() for c in self.columns],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DatasetProfile:
        """Read a stored profile; a layout this version does not know is ``InvalidInput``."""
        if data.get("format") not in READABLE_PROFILE_FORMATS:
            raise InvalidInput(
                "unknown dataset profile format", found=data.get("format"), expected=list(READABLE_PROFILE_FORMATS)
            )
        try:
            columns = tuple(_column_from_dict(c) for c in data["columns"])
            return cls(row_count=int(data["row_count"]), columns=columns)
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(f"malformed dataset profile: {exc!r}") from exc


def _column_from_dict(data: Mapping[str, Any]) -> ColumnProfile:
    if data["type"] == "numeric":
        return NumericColumnProfile.from_dict(data)
    if data["type"] == "categorical":
        return CategoricalColumnProfile.from_dict(data)
    raise ValueError(f"unknown column profile type {data['type']!r}")


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


# -- dataset versions and the runs that used them ------------------------------------------------


class DatasetRole(enum.StrEnum):
    """What a run used a dataset version for; a monitor's reference is usually the ``train`` one."""

    TRAIN = "train"
    VALIDATION = "validation"
    TEST = "test"
    REFERENCE = "reference"


@dataclass(frozen=True, kw_only=True)
class ColumnSchema:
    """One column of a dataset version: its name, its Arrow type (``str(pa.DataType)``), nullability."""

    name: str
    type: str
    nullable: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "nullable": self.nullable}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnSchema:
        return cls(name=str(data["name"]), type=str(data["type"]), nullable=bool(data.get("nullable", True)))


@dataclass(frozen=True, kw_only=True)
class Dataset:
    """A named line of dataset versions (``train-churn``), created by its first logged version."""

    name: str
    created_at: int
    version_count: int
    latest_digest: str | None
    latest_created_at: int | None


@dataclass(frozen=True, kw_only=True)
class DatasetVersion:
    """One immutable content of a dataset, named ``<name>@<digest>``.

    ``digest`` is the SHA-256 (64 hex digits) of the canonical Parquet bytes (see
    ``modelyard.data.digests``), which are stored at ``storage_uri``. ``source_uri`` is where the
    content came from (a CSV or Parquet path, a table name), when known. ``created_at``/``created_by``
    are those of the first logging; logging the same content again changes nothing.
    """

    name: str
    digest: str
    columns: tuple[ColumnSchema, ...]
    row_count: int
    size_bytes: int
    source_uri: str | None
    storage_uri: str
    profile: DatasetProfile
    created_at: int
    created_by: str

    @property
    def uri(self) -> str:
        """``datasets:/<name>@<digest>``: the URI that loads exactly this content."""
        return f"datasets:/{self.name}@{self.digest}"

    @property
    def node_id(self) -> str:
        """The id of this version as a lineage node: ``<name>@<digest>``."""
        return f"{self.name}@{self.digest}"


@dataclass(frozen=True, kw_only=True)
class RunInput:
    """A run used a dataset version in a role; one row per (run, version, role)."""

    run_id: str
    dataset_name: str
    digest: str
    role: DatasetRole
    created_at: int

    @property
    def uri(self) -> str:
        return f"datasets:/{self.dataset_name}@{self.digest}"
