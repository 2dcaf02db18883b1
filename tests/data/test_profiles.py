"""Profiles are exact where the records say so: checked against numpy and plain counting."""

from __future__ import annotations

import itertools
import json
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from modelyard.data import canonicalize, profile_table
from modelyard.data.profiles import BIN_LEVELS, SKETCH_LEVELS
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


def test_categorical_levels_are_all_exact_within_the_budget(frame: pd.DataFrame) -> None:
    col = _profile(frame).column("cat")
    assert isinstance(col, CategoricalColumnProfile)
    counts = Counter(frame["cat"].dropna())
    expected = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    assert list(zip(col.values, col.counts, strict=True)) == expected  # all 40 levels, not a top 20
    assert col.missing_count == 123
    assert col.distinct_count == len(counts) == 40
    assert col.other_count == 0 and col.tail_sketch is None and col.tells_unseen
    assert sum(col.counts) == col.value_count
    assert col.unseen_levels(["L00", "L39", "NEW"]) == ["NEW"]


def _levels_frame(levels: int, rows: int, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    probs = 1.0 / np.arange(1, levels + 1) ** 1.1
    labels = np.array([f"level_{i:05d}" for i in range(levels)], dtype=object)
    return pd.DataFrame({"c": labels[rng.choice(levels, rows, p=probs / probs.sum())]})


@pytest.mark.parametrize("levels", [50, 5_000])
def test_categorical_profiles_stay_within_the_stated_size(levels: int) -> None:
    frame = _levels_frame(levels, 200_000)
    col = _profile(frame).column("c")
    assert isinstance(col, CategoricalColumnProfile)
    size = len(json.dumps(col.to_dict()))
    assert size <= 64 * 1024  # README: at most 64 KiB of JSON per categorical column
    counts = Counter(frame["c"])
    assert col.distinct_count == len(counts)
    assert sum(col.counts) + col.other_count == col.value_count == len(frame)
    if levels == 50:
        assert col.other_count == 0 and len(col.values) == 50
    else:
        # the most frequent levels exact, the rest in the Bloom filter with their total count
        assert 1_000 <= len(col.values) < len(counts) and col.tail_sketch is not None
        assert col.tail_sketch.levels == len(counts) - len(col.values)
        assert col.tail_sketch.false_positive_rate < 0.011
        assert dict(zip(col.values, col.counts, strict=True)) == {v: counts[v] for v in col.values}
        tail = [v for v in counts if v not in set(col.values)]
        assert col.unseen_levels(tail) == []  # no false negatives: every tail level is recognised
        unseen = col.unseen_levels([f"new_{i}" for i in range(1_000)])
        assert unseen is not None and len(unseen) >= 970  # ~1 % false positives at most


def test_a_format_1_profile_still_loads_and_says_it_cannot_tell_unseen_levels() -> None:
    stored = {
        "format": 1,
        "row_count": 100,
        "columns": [
            {
                "type": "categorical",
                "name": "city",
                "kind": "categorical",
                "dtype": "string",
                "row_count": 100,
                "missing_count": 0,
                "missing_rate": 0.0,
                "distinct_count": 30,
                "values": ["paris"],
                "counts": [60],
                "other_count": 40,
            }
        ],
    }
    col = DatasetProfile.from_dict(stored).column("city")
    assert isinstance(col, CategoricalColumnProfile) and col.tail_sketch is None
    assert not col.tells_unseen and col.unseen_levels(["oslo"]) is None
    assert col.unseen_levels(["paris"]) is None


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
