"""End-to-end detection on generated data with known drift, and the edge cases a monitor meets."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from modelyard.domain.data import DatasetProfile
from modelyard.errors import InvalidInput
from modelyard.monitoring.drift import (
    DatasetDrift,
    DriftMethod,
    DriftStatus,
    DriftThresholds,
    Reference,
    detect_drift,
)
from modelyard.monitoring.drift.synthetic import DRIFTED_COLUMNS, MISSING_RATE_COLUMN, drift_frames


def _flagged(result: DatasetDrift) -> set[str]:
    return {f.feature for f in result.features if f.drifted}


def _missing_flagged(result: DatasetDrift) -> set[str]:
    return {f.feature for f in result.missing if f.drifted}


@pytest.fixture(scope="module")
def frames_100k() -> tuple[pd.DataFrame, pd.DataFrame]:
    return drift_frames(100_000, seed=42)


def test_finds_exactly_the_drifted_columns_at_100k_rows(frames_100k: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    ref, cur = frames_100k
    result = detect_drift(Reference.from_frame(ref), cur)
    assert _flagged(result) == set(DRIFTED_COLUMNS)  # precision and recall 1.0
    assert _missing_flagged(result) == {MISSING_RATE_COLUMN}
    # the missing-rate jump is flagged on its own: the values of that column did not move
    assert not result.feature(MISSING_RATE_COLUMN).drifted  # type: ignore[union-attr]
    assert set(result.drifted_features) == {*DRIFTED_COLUMNS, MISSING_RATE_COLUMN}
    assert result.share_drifted == pytest.approx(6 / 25)
    assert result.dataset_drifted


def test_a_stored_profile_gives_the_same_verdicts_without_the_data(
    frames_100k: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    ref, cur = frames_100k
    exact = Reference.from_frame(ref)
    stored = DatasetProfile.from_dict(json.loads(json.dumps(exact.to_profile().to_dict())))
    sketch = detect_drift(Reference.from_profile(stored), cur)
    assert _flagged(sketch) == set(DRIFTED_COLUMNS)
    assert _missing_flagged(sketch) == {MISSING_RATE_COLUMN}
    full = detect_drift(exact, cur)
    for a, b in zip(full.features, sketch.features, strict=True):
        assert b.details["mode"] == ("sketch" if "ks_statistic" in a.details else "exact")
        # PSI, chi-square and the categorical distances are exact from the profile
        assert b.details["psi"] == pytest.approx(a.details["psi"], abs=1e-12)
        if "ks_statistic" in a.details:
            assert b.details["ks_statistic"] == pytest.approx(a.details["ks_statistic"], abs=2e-3)
            assert b.details["wasserstein_normalised"] == pytest.approx(a.details["wasserstein_normalised"], abs=5e-3)
        else:
            assert b.statistic == pytest.approx(a.statistic, rel=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_no_false_positives_at_1000_rows_without_drift(seed: int) -> None:
    ref, _ = drift_frames(2_000, seed=100 + seed)
    # two halves of the same undrifted reference sample
    result = detect_drift(Reference.from_frame(ref.iloc[:1_000]), ref.iloc[1_000:])
    assert result.drifted_features == ()
    assert not result.dataset_drifted


def test_drifted_columns_found_at_1000_rows_without_false_positives() -> None:
    ref, cur = drift_frames(1_000, seed=7)
    result = detect_drift(Reference.from_frame(ref), cur)
    assert _flagged(result) <= set(DRIFTED_COLUMNS)
    assert "num_01" in _flagged(result)


def test_uncorrected_p_values_are_what_floods_alarms() -> None:
    # the same undrifted data with correction and effect floors switched off flags noise
    flagged = 0
    loose = DriftThresholds(correction="none", ks_min_statistic=0.0, chi2_min_tvd=0.0, psi_moderate=0.0)
    for seed in range(5):
        ref, _ = drift_frames(2_000, seed=100 + seed)
        result = detect_drift(Reference.from_frame(ref.iloc[:1_000]), ref.iloc[1_000:], thresholds=loose)
        flagged += len(result.drifted_features)
    assert flagged > 0


def test_tiny_and_empty_windows_get_insufficient_data() -> None:
    ref, cur = drift_frames(1_000, seed=3)
    reference = Reference.from_frame(ref)
    for window in (cur.iloc[:10], cur.iloc[:0]):
        result = detect_drift(reference, window)
        assert {f.status for f in result.features} == {DriftStatus.INSUFFICIENT_DATA}
        assert {f.status for f in result.missing} == {DriftStatus.INSUFFICIENT_DATA}
        assert all(f.statistic is None and not f.drifted for f in result.features)
        assert result.share_drifted == 0.0 and not result.dataset_drifted


def test_all_missing_column_is_a_missing_rate_alarm_not_a_crash() -> None:
    ref, cur = drift_frames(1_000, seed=4)
    cur = cur.assign(num_02=np.nan, cat_0=None)
    result = detect_drift(Reference.from_frame(ref), cur)
    for name in ("num_02", "cat_0"):
        assert result.feature(name).status is DriftStatus.INSUFFICIENT_DATA  # type: ignore[union-attr]
        missing = result.missing_for(name)
        assert missing is not None and missing.drifted
        assert missing.details["current_rate"] == 1.0


def test_infinite_values_count_as_missing() -> None:
    ref = pd.DataFrame({"x": np.arange(1_000, dtype=float)})
    cur = ref.copy()
    cur.loc[:199, "x"] = np.inf
    result = detect_drift(Reference.from_frame(ref), cur)
    missing = result.missing_for("x")
    assert missing is not None and missing.details["current_rate"] == pytest.approx(0.2)


def test_constant_column() -> None:
    ref = pd.DataFrame({"c": np.full(500, 2.0)})
    same = detect_drift(Reference.from_frame(ref), ref, numeric_method=DriftMethod.WASSERSTEIN)
    assert same.features[0].statistic == 0.0 and not same.features[0].drifted
    moved = detect_drift(Reference.from_frame(ref), ref + 1.0, numeric_method=DriftMethod.WASSERSTEIN)
    assert moved.features[0].statistic == float("inf") and moved.features[0].drifted
    ks = detect_drift(Reference.from_frame(ref), ref + 1.0)
    assert ks.features[0].statistic == 1.0 and ks.features[0].drifted
    assert json.dumps(moved.to_dict())  # inf stays serialisable


def test_unseen_categories_are_counted_and_named() -> None:
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"color": rng.choice(["red", "green", "blue"], 5_000)})
    cur_values = rng.choice(["red", "green", "blue"], 5_000).astype(object)
    cur_values[:400] = "purple"
    cur_values[400:450] = "teal"
    result = detect_drift(Reference.from_frame(ref), pd.DataFrame({"color": cur_values}))
    f = result.features[0]
    assert f.drifted
    assert f.details["unseen_levels"] == ["purple", "teal"]
    assert f.unseen_share == pytest.approx(450 / 5_000)
    assert f.details["n_current"] == 5_000  # nothing dropped


def test_labels_are_compared_as_strings_and_booleans_as_levels() -> None:
    ref = pd.DataFrame({"code": [1, 2] * 300, "flag": [True, False, False] * 200})
    cur = pd.DataFrame({"code": ["1", "2"] * 300, "flag": [True, True, False] * 200})
    result = detect_drift(Reference.from_frame(ref, categorical=["code"]), cur)
    assert not result.feature("code").drifted  # type: ignore[union-attr]
    assert result.feature("flag").drifted  # type: ignore[union-attr]


def test_psi_bands_follow_the_usual_convention() -> None:
    rng = np.random.default_rng(1)
    ref = pd.DataFrame({"x": rng.normal(0, 1, 50_000)})
    cases = {0.0: DriftStatus.NO_DRIFT, 0.45: DriftStatus.MODERATE, 1.0: DriftStatus.DRIFT}
    reference = Reference.from_frame(ref)
    for shift, status in cases.items():
        cur = pd.DataFrame({"x": rng.normal(shift, 1, 50_000)})
        f = detect_drift(reference, cur, numeric_method=DriftMethod.PSI).features[0]
        assert f.status is status, (shift, f.statistic)
        assert f.drifted is (status is DriftStatus.DRIFT)
        assert f.threshold == 0.25


def test_thresholds_are_configurable() -> None:
    rng = np.random.default_rng(2)
    ref = pd.DataFrame({"x": rng.normal(0, 1, 20_000)})
    cur = pd.DataFrame({"x": rng.normal(0.1, 1, 20_000)})
    reference = Reference.from_frame(ref)
    w = detect_drift(reference, cur, numeric_method=DriftMethod.WASSERSTEIN).features[0]
    assert not w.drifted and 0.05 < w.statistic < 0.1  # type: ignore[operator]
    strict = DriftThresholds(wasserstein_threshold=0.05)
    assert detect_drift(reference, cur, numeric_method=DriftMethod.WASSERSTEIN, thresholds=strict).features[0].drifted
    # KS: significant, but D ~ 0.04 is under the default 0.05 floor
    assert not detect_drift(reference, cur).features[0].drifted
    assert detect_drift(reference, cur, thresholds=DriftThresholds(ks_min_statistic=0.02)).features[0].drifted


def test_per_column_methods_and_weights() -> None:
    ref, cur = drift_frames(5_000, seed=5)
    result = detect_drift(
        Reference.from_frame(ref),
        cur,
        methods={"cat_1": DriftMethod.JS, "num_01": DriftMethod.PSI},
        columns=["num_00", "num_01", "cat_1"],
        weights={"num_01": 3.0},
    )
    assert [f.method for f in result.features] == [DriftMethod.KS, DriftMethod.PSI, DriftMethod.JS]
    drifted_weight = sum({"num_00": 1.0, "num_01": 3.0, "cat_1": 1.0}[n] for n in result.drifted_features)
    assert result.share_drifted == pytest.approx(drifted_weight / 5.0)


def test_predictions_series_as_a_single_feature() -> None:
    rng = np.random.default_rng(3)
    ref = pd.Series(rng.beta(2, 5, 10_000), name="prediction")
    cur = pd.Series(rng.beta(2.6, 5, 10_000), name="prediction")
    result = detect_drift(Reference.from_frame(ref), cur)
    assert result.drifted_features == ("prediction",)


def test_bad_input_is_named() -> None:
    ref, cur = drift_frames(200, seed=6)
    reference = Reference.from_frame(ref)
    with pytest.raises(InvalidInput, match="lacks column"):
        detect_drift(reference, cur.drop(columns=["num_03"]))
    with pytest.raises(InvalidInput, match="numeric_method"):
        detect_drift(reference, cur, numeric_method=DriftMethod.CHI2)
    with pytest.raises(InvalidInput, match="weights"):
        detect_drift(reference, cur, weights={"num_00": -1.0})
    with pytest.raises(InvalidInput, match="no column"):
        detect_drift(reference, cur.assign(extra=1), columns=["extra"])
    with pytest.raises(InvalidInput, match="'num_03' is numeric in the reference"):
        detect_drift(reference, cur.assign(num_03="n/a"))
    with pytest.raises(InvalidInput, match="DataFrame"):
        Reference.from_frame([1, 2, 3])  # type: ignore[arg-type]


def test_results_are_json_ready(frames_100k: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    ref, cur = frames_100k
    body = detect_drift(Reference.from_frame(ref.iloc[:5_000]), cur.iloc[:5_000]).to_dict()
    again = json.loads(json.dumps(body))
    assert again["correction"] == "holm"
    assert {f["feature"] for f in again["features"]} == set(ref.columns)
