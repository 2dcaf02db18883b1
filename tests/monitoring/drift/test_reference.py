"""References from frames and from stored profiles; the package's public surface."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import modelyard.monitoring.drift as drift
from modelyard.domain.data import CategoricalColumnProfile, ColumnKind, DatasetProfile, NumericColumnProfile
from modelyard.monitoring.drift import Reference, detect_drift


def test_public_names_are_exported_and_exist() -> None:
    assert sorted(drift.__all__) == sorted(set(drift.__all__))
    for name in drift.__all__:
        assert getattr(drift, name) is not None


def test_frame_reference_builds_the_profile_records_a_dataset_version_stores() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(5, 2, 10_000)
    values[:100] = np.nan
    frame = pd.DataFrame({"x": values, "c": rng.choice(["a", "b"], 10_000)})
    profile = Reference.from_frame(frame).to_profile()
    x = profile.column("x")
    assert isinstance(x, NumericColumnProfile)
    finite = values[np.isfinite(values)]
    assert x.missing_count == 100 and x.row_count == 10_000
    assert x.std == pytest.approx(float(finite.std()), rel=1e-12)
    assert x.quantiles == tuple(np.quantile(finite, x.quantile_levels))
    assert len(x.bins.cuts) == 9 and x.bins.total == finite.size
    assert len(x.sketch.cuts) == 999 and x.sketch.total == finite.size
    assert sum(x.histogram.counts) == finite.size
    assert DatasetProfile.from_dict(profile.to_dict()) == profile
    c = profile.column("c")
    assert isinstance(c, CategoricalColumnProfile) and c.other_count == 0 and sum(c.counts) == 10_000


def test_datetime_columns_are_skipped_unless_named() -> None:
    times = pd.date_range("2024-01-01", periods=500, freq="h", tz="UTC")
    frame = pd.DataFrame({"ts": times, "x": np.arange(500.0)})
    reference = Reference.from_frame(frame)
    assert reference.names == ("x",) and reference.skipped == ("ts",)
    assert detect_drift(reference, frame).skipped == ("ts",)
    named = Reference.from_frame(frame, columns=["ts"])
    ts = named.to_profile().column("ts")
    assert isinstance(ts, NumericColumnProfile) and ts.kind is ColumnKind.DATETIME
    assert ts.min == times[0].timestamp()
    later = pd.DataFrame({"ts": times + pd.Timedelta(days=60)})
    assert detect_drift(named, later).drifted_features == ("ts",)


def test_a_top_k_profile_compares_its_other_bucket() -> None:
    # a stored profile that kept the 2 most frequent levels and counted the rest as "other"
    profile = DatasetProfile(
        row_count=1_000,
        columns=(
            CategoricalColumnProfile(
                name="city",
                kind=ColumnKind.CATEGORICAL,
                dtype="object",
                row_count=1_000,
                missing_count=0,
                distinct_count=5,
                values=("paris", "rome"),
                counts=(500, 300),
                other_count=200,
            ),
        ),
    )
    same = pd.DataFrame({"city": ["paris"] * 500 + ["rome"] * 300 + ["oslo"] * 120 + ["lima"] * 80})
    result = detect_drift(Reference.from_profile(profile), same).features[0]
    assert result.details["mode"] == "top_k"
    assert result.details["unseen_levels"] == []  # oslo/lima may be in "other": not called unseen
    assert result.statistic == pytest.approx(0.0, abs=1e-12) and not result.drifted
    moved = pd.DataFrame({"city": ["paris"] * 300 + ["rome"] * 300 + ["oslo"] * 400})
    assert detect_drift(Reference.from_profile(profile), moved).features[0].drifted
