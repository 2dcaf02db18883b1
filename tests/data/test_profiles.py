"""Profiles are exact where the records say so: checked against numpy and plain counting."""

from __future__ import annotations

import itertools
import json
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from modelyard.data import canonicalize, profile_table
from modelyard.data.profiles import BIN_LEVELS, SKETCH_LEVELS, TOP_K
from modelyard.domain.data import (
    QUANTILE_LEVELS,
    CategoricalColumnProfile,
    ColumnKind,
    DatasetProfile,
    NumericColumnProfile,
)


def _profile(frame: pd.DataFrame) -> DatasetProfile:
    return profile_table(canonicalize(frame).table)


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 5_000
    x = rng.lognormal(size=n)
    x[rng.choice(n, 300, replace=False)] = np.nan
    x[:5] = np.inf
    x[5:8] = -np.inf
    levels = [f"L{i:02d}" for i in range(40)]
    weights = np.arange(40, 0, -1, dtype=float)
    cat = rng.choice(levels, n, p=weights / weights.sum()).astype(object)
    cat[rng.choice(n, 123, replace=False)] = None
    return pd.DataFrame(
        {
            "x": x,
            "k": rng.integers(0, 5, n),  # few distinct values: tied quantiles merge
            "cat": cat,
            "flag": rng.random(n) < 0.3,
            "when": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 86_400 * 30, n), unit="s"),
        }
    )


def test_numeric_statistics_match_numpy(frame: pd.DataFrame) -> None:
    col = _profile(frame).column("x")
    assert isinstance(col, NumericColumnProfile)
    raw = frame["x"].to_numpy()
    finite = raw[np.isfinite(raw)]
    assert col.kind is ColumnKind.NUMERIC and col.dtype == "double"
    assert col.row_count == len(raw)
    assert col.missing_count == len(raw) - len(finite) == 308  # 300 NaN + 8 infinite
    assert col.missing_rate == pytest.approx(308 / len(raw))
    assert col.quantile_levels == QUANTILE_LEVELS
    assert col.quantiles == tuple(np.quantile(finite, QUANTILE_LEVELS).tolist())
    assert (col.min, col.max, col.mean, col.std) == (finite.min(), finite.max(), finite.mean(), finite.std())
    assert col.quantile(0.5) == np.median(finite)


def test_quantile_bins_count_every_value_on_the_reference_cuts(frame: pd.DataFrame) -> None:
    col = _profile(frame).column("x")
    assert isinstance(col, NumericColumnProfile)
    finite = frame["x"].to_numpy()[np.isfinite(frame["x"].to_numpy())]
    assert col.bins.cuts == tuple(np.quantile(finite, BIN_LEVELS).tolist())
    assert len(col.sketch.cuts) == len(SKETCH_LEVELS)
    for bins in (col.bins, col.sketch):
        cuts = (-np.inf, *bins.cuts, np.inf)
        expected = [int(((finite >= lo) & (finite < hi)).sum()) for lo, hi in itertools.pairwise(cuts)]
        assert list(bins.counts) == expected
        assert bins.total == len(finite)
    # deciles hold a tenth each, up to ties
    assert max(col.bins.counts) - min(col.bins.counts) <= 1
    expected_hist, edges = np.histogram(finite, bins=20)
    assert col.histogram.counts == tuple(expected_hist.tolist())
    assert col.histogram.edges == tuple(edges.tolist())


def test_tied_quantiles_merge_into_fewer_bins(frame: pd.DataFrame) -> None:
    col = _profile(frame).column("k")
    assert isinstance(col, NumericColumnProfile)
    assert col.bins.cuts == tuple(np.unique(np.quantile(frame["k"], BIN_LEVELS)).tolist())
    assert len(col.bins.cuts) < len(BIN_LEVELS)
    assert col.bins.total == len(frame)


def test_categorical_top_k_and_other_add_up_exactly(frame: pd.DataFrame) -> None:
    col = _profile(frame).column("cat")
    assert isinstance(col, CategoricalColumnProfile)
    counts = Counter(frame["cat"].dropna())
    expected = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_K]
    assert list(zip(col.values, col.counts, strict=True)) == expected
    assert col.missing_count == 123
    assert col.distinct_count == len(counts) == 40
    assert col.other_count == sum(counts.values()) - sum(c for _, c in expected)
    assert sum(col.counts) + col.other_count == col.value_count
    assert col.frequencies()["__other__"] == col.other_count


def test_boolean_and_datetime_columns(frame: pd.DataFrame) -> None:
    profile = _profile(frame)
    flag = profile.column("flag")
    assert isinstance(flag, CategoricalColumnProfile) and flag.kind is ColumnKind.BOOLEAN
    n_true = int(frame["flag"].sum())
    assert dict(zip(flag.values, flag.counts, strict=True)) == {"True": n_true, "False": len(frame) - n_true}
    when = profile.column("when")
    assert isinstance(when, NumericColumnProfile) and when.kind is ColumnKind.DATETIME
    seconds = (frame["when"] - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds().to_numpy()
    assert when.min == seconds.min() and when.max == seconds.max()
    assert when.quantiles == tuple(np.quantile(seconds, QUANTILE_LEVELS).tolist())


def test_empty_and_all_missing_columns() -> None:
    profile = _profile(pd.DataFrame({"x": [np.nan, np.nan], "s": pd.Series([None, None], dtype=object)}))
    x = profile.column("x")
    assert isinstance(x, NumericColumnProfile)
    assert (x.missing_count, x.mean, x.quantiles, x.bins.counts) == (2, None, (), (0,))
    s = profile.column("s")
    assert (s.missing_count, s.value_count) == (2, 0)


def test_labels_are_strings_and_a_profile_round_trips_through_json(frame: pd.DataFrame) -> None:
    mixed = _profile(pd.DataFrame({"m": pd.Series(["1", "1", "2", None], dtype=object)}))
    col = mixed.column("m")
    assert isinstance(col, CategoricalColumnProfile) and col.values == ("1", "2")
    profile = _profile(frame)
    text = json.dumps(profile.to_dict(), allow_nan=False)
    assert DatasetProfile.from_dict(json.loads(text)) == profile
    assert "L00" in text and len(text) < 30_000  # compact: no raw rows (5 000 rows profiled)
