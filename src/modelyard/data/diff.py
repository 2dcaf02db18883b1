"""What changed between two dataset versions: schema first, then each shared column's distribution.

- **Schema**: columns added (in B only), removed (in A only) and type-changed (same name, another
  Arrow type).
- **Numeric/datetime columns** (numeric in both): PSI of B against A on **A's decile bins**, exact
  (B's values are binned on A's stored cuts, as a monitor bins a window), plus the change of mean
  and missing rate. Proportions below ``PSI_EPSILON`` are raised to it before the logarithm, so a
  bin empty on one side gives a large but finite PSI.
- **Categorical/boolean columns**: the total variation distance (half the L1 distance, "the share
  of rows that moved") between the two level frequencies, over the union of listed levels plus
  each side's ``__other__`` bucket; exact when neither profile has an ``other`` bucket. Levels B
  lists that a complete A profile does not know are reported as new.
- A column whose kind changed (numeric in one, categorical in the other) gets no distribution
  number: its type change says it all.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from modelyard.data.profiles import bin_counts
from modelyard.domain.data import (
    OTHER_LABEL,
    CategoricalColumnProfile,
    ColumnSchema,
    DatasetVersion,
    NumericColumnProfile,
)
from modelyard.errors import InvalidInput

PSI_EPSILON = 1e-4


@dataclass(frozen=True, kw_only=True)
class TypeChange:
    """A column present in both versions with a different Arrow type."""

    name: str
    type_a: str
    type_b: str


@dataclass(frozen=True, kw_only=True)
class ColumnChange:
    """How one shared column's distribution moved from A to B.

    ``psi`` is set for numeric columns, ``tvd`` and ``new_levels`` for categorical ones.
    """

    name: str
    kind: str
    missing_rate_a: float
    missing_rate_b: float
    mean_a: float | None = None
    mean_b: float | None = None
    psi: float | None = None
    tvd: float | None = None
    new_levels: tuple[str, ...] = ()

    @property
    def missing_rate_change(self) -> float:
        return self.missing_rate_b - self.missing_rate_a

    @property
    def mean_change(self) -> float | None:
        if self.mean_a is None or self.mean_b is None:
            return None
        return self.mean_b - self.mean_a


@dataclass(frozen=True, kw_only=True)
class DatasetDiff:
    """Everything ``modelyard datasets diff`` reports, A being the baseline."""

    a: str
    b: str
    row_count_a: int
    row_count_b: int
    added: tuple[ColumnSchema, ...]
    removed: tuple[ColumnSchema, ...]
    type_changed: tuple[TypeChange, ...]
    columns: tuple[ColumnChange, ...]

    @property
    def same_content(self) -> bool:
        return self.a == self.b


def psi(expected: tuple[int, ...], actual: tuple[int, ...], *, epsilon: float = PSI_EPSILON) -> float | None:
    """Population stability index of ``actual`` against ``expected`` counts on the same bins.

    ``None`` when either side has no value to compare.
    """
    if len(expected) != len(actual):
        raise InvalidInput("PSI needs counts on the same bins", expected=len(expected), actual=len(actual))
    total_e, total_a = sum(expected), sum(actual)
    if total_e == 0 or total_a == 0:
        return None
    p = np.maximum(np.asarray(expected, dtype=np.float64) / total_e, epsilon)
    q = np.maximum(np.asarray(actual, dtype=np.float64) / total_a, epsilon)
    return float(np.sum((q - p) * np.log(q / p)))


def total_variation(a: CategoricalColumnProfile, b: CategoricalColumnProfile) -> float | None:
    """Half the L1 distance between the level frequencies of ``a`` and ``b`` (0 = same, 1 = disjoint)."""
    if a.value_count == 0 or b.value_count == 0:
        return None
    fa, fb = a.frequencies(), b.frequencies()
    labels = set(fa) | set(fb)
    return 0.5 * math.fsum(abs(fa.get(k, 0) / a.value_count - fb.get(k, 0) / b.value_count) for k in labels)


def diff_versions(a: DatasetVersion, b: DatasetVersion, b_values: Mapping[str, npt.NDArray[np.float64]]) -> DatasetDiff:
    """Compare B with A. ``b_values`` holds B's values (``profiles.numeric_values``) of every column
    numeric in both versions; missing values in it are ignored."""
    schema_a = {c.name: c for c in a.columns}
    schema_b = {c.name: c for c in b.columns}
    shared = [n for n in schema_a if n in schema_b]
    changes: list[ColumnChange] = []
    for name in shared:
        pa_, pb = a.profile.column(name), b.profile.column(name)
        if isinstance(pa_, NumericColumnProfile) and isinstance(pb, NumericColumnProfile):
            if name not in b_values:
                raise InvalidInput(f"the values of column {name!r} of {b.uri} are needed to bin it on A's cuts")
            values = b_values[name]
            values = values[np.isfinite(values)]
            changes.append(
                ColumnChange(
                    name=name,
                    kind="numeric",
                    missing_rate_a=pa_.missing_rate,
                    missing_rate_b=pb.missing_rate,
                    mean_a=pa_.mean,
                    mean_b=pb.mean,
                    psi=psi(pa_.bins.counts, bin_counts(values, pa_.bins.cuts)),
                )
            )
        elif isinstance(pa_, CategoricalColumnProfile) and isinstance(pb, CategoricalColumnProfile):
            new = tuple(pa_.unseen_levels(pb.values) or ())
            changes.append(
                ColumnChange(
                    name=name,
                    kind="categorical",
                    missing_rate_a=pa_.missing_rate,
                    missing_rate_b=pb.missing_rate,
                    tvd=total_variation(pa_, pb),
                    new_levels=tuple(v for v in new if v != OTHER_LABEL),
                )
            )
        else:
            changes.append(
                ColumnChange(name=name, kind="changed", missing_rate_a=pa_.missing_rate, missing_rate_b=pb.missing_rate)
            )
    return DatasetDiff(
        a=a.uri,
        b=b.uri,
        row_count_a=a.row_count,
        row_count_b=b.row_count,
        added=tuple(c for n, c in schema_b.items() if n not in schema_a),
        removed=tuple(c for n, c in schema_a.items() if n not in schema_b),
        type_changed=tuple(
            TypeChange(name=n, type_a=schema_a[n].type, type_b=schema_b[n].type)
            for n in shared
            if schema_a[n].type != schema_b[n].type
        ),
        columns=tuple(changes),
    )
