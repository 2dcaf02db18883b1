"""A stored profile flags what the raw reference flags: every drift kind, no drift, 10,000 and 100,000 rows.

Monitors and ``datasets drift`` compare windows with a dataset version's stored profile, so that
path must reach the raw-frame path's verdicts. The pairs add to the benchmark's synthetic frames
(numeric shift, lognormal scale, Poisson shift, a category frequency shift, a new level at 5 %, a
missing-rate jump) a normal scale change, a categorical missing-rate jump and two 5,000-level
columns (beyond the profile's exact levels: its Bloom filter must recognise new levels), one with
new levels at 4 % of rows and one unchanged.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from modelyard.data import canonicalize, profile_table
from modelyard.domain.data import CategoricalColumnProfile, DatasetProfile
from modelyard.monitoring.drift import DatasetDrift, Reference, detect_drift
from modelyard.monitoring.drift.synthetic import DRIFTED_COLUMNS, MISSING_RATE_COLUMN, drift_frames

EXTRA_DRIFTED = ("num_scale", "cat_many_new")
EXTRA_MISSING = "cat_missing"
HIGH_CARDINALITY = 5_000


def _extra(rng: np.random.Generator, n: int, *, drifted: bool) -> pd.DataFrame:
    probs = 1.0 / np.arange(1, HIGH_CARDINALITY + 1) ** 0.8
    probs /= probs.sum()
    labels = np.array([f"customer_{i:05d}" for i in range(HIGH_CARDINALITY)], dtype=object)
    many_new = labels[rng.choice(labels.size, size=n, p=probs)]
    if drifted:  # 40 never-seen ids take 4 % of the rows
        hit = rng.random(n) < 0.04
        many_new[hit] = np.array([f"new_{i:02d}" for i in range(40)], dtype=object)[rng.integers(0, 40, hit.sum())]
    small = np.array(["a", "b", "c", "d"], dtype=object)[rng.integers(0, 4, n)]
    small[rng.random(n) < (0.08 if drifted else 0.01)] = None
    return pd.DataFrame(
        {
            "num_scale": rng.normal(5.0, 1.3 if drifted else 1.0, n),
            "cat_many_new": many_new,
            "cat_many_same": labels[rng.choice(labels.size, size=n, p=probs)],
            EXTRA_MISSING: small,
        }
    )


def _pair(n: int, *, drift: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(11)
    ref, cur = drift_frames(n, seed=0)
    if not drift:
        cur = drift_frames(n, seed=1)[0]  # an independent draw of the undrifted generator
    ref = pd.concat([ref, _extra(rng, n, drifted=False)], axis=1)
    cur = pd.concat([cur, _extra(rng, n, drifted=drift)], axis=1)
    return ref, cur


def _stored_profile(ref: pd.DataFrame) -> Reference:
    """The reference as a monitor reads it: the dataset version's profile, through its JSON."""
    stored = json.loads(json.dumps(profile_table(canonicalize(ref).table).to_dict()))
    return Reference.from_profile(DatasetProfile.from_dict(stored))


def _flags(result: DatasetDrift) -> tuple[set[str], set[str]]:
    return {f.feature for f in result.features if f.drifted}, {m.feature for m in result.missing if m.drifted}


@pytest.mark.parametrize("n", [10_000, 100_000])
def test_profile_and_frame_paths_flag_the_same_drifted_features(n: int) -> None:
    ref, cur = _pair(n, drift=True)
    exact = detect_drift(Reference.from_frame(ref), cur)
    profiled = _stored_profile(ref)
    many = profiled.column("cat_many_new").profile
    assert isinstance(many, CategoricalColumnProfile) and many.tail_sketch is not None  # the sketch is exercised
    from_profile = detect_drift(profiled, cur)
    from_reference_profile = detect_drift(Reference.from_profile(Reference.from_frame(ref).to_profile()), cur)

    expected = ({*DRIFTED_COLUMNS, *EXTRA_DRIFTED}, {MISSING_RATE_COLUMN, EXTRA_MISSING})
    assert _flags(exact) == expected
    assert _flags(from_profile) == expected
    assert _flags(from_reference_profile) == expected
    for result in (exact, from_profile):
        new_level = result.feature("cat_3")
        assert new_level is not None and new_level.details["unseen_levels"] == ["NEW"]
        assert new_level.unseen_share == pytest.approx(0.05, abs=0.005)
        many_new = result.feature("cat_many_new")
        assert many_new is not None and {lv for lv in many_new.details["unseen_levels"] if lv.startswith("new_")}
    # the ids the reference sample never held count as unseen too (their share shrinks as n grows);
    # the Bloom filter may take an unseen one for a tail level (~1 %), never the other way round
    exact_share = exact.feature("cat_many_new").unseen_share  # type: ignore[union-attr]
    profile_share = from_profile.feature("cat_many_new").unseen_share  # type: ignore[union-attr]
    assert exact_share is not None and profile_share is not None
    assert exact_share >= 0.04 and exact_share * 0.97 <= profile_share <= exact_share


@pytest.mark.parametrize("n", [10_000, 100_000])
def test_neither_path_flags_an_undrifted_pair(n: int) -> None:
    ref, cur = _pair(n, drift=False)
    assert _flags(detect_drift(Reference.from_frame(ref), cur)) == (set(), set())
    assert _flags(detect_drift(_stored_profile(ref), cur)) == (set(), set())


def test_a_legacy_top_20_profile_reports_that_it_cannot_tell_unseen_levels() -> None:
    ref, cur = _pair(10_000, drift=True)
    stored = profile_table(canonicalize(ref[["cat_3"]]).table).to_dict()
    col = stored["columns"][0]
    col["other_count"] += sum(col["counts"][20:])  # what format 1 stored: the top 20 and "other"
    col["values"], col["counts"], col["tail_sketch"] = col["values"][:20], col["counts"][:20], None
    stored = {"format": 1, "row_count": stored["row_count"], "columns": [col]}
    result = detect_drift(Reference.from_profile(DatasetProfile.from_dict(stored)), cur).feature("cat_3")
    assert result is not None
    assert result.unseen_share is None and result.details["mode"] == "top_k"
    assert "cannot be told from an unseen one" in result.details["note"]


@pytest.mark.parametrize(("share", "flagged"), [(0.02, True), (0.01, False)])
def test_a_new_level_at_2_percent_of_rows_is_drift_on_both_paths(share: float, flagged: bool) -> None:
    """The effect floor counts unseen mass: a new level at exactly 2 % of 100,000 rows (TVD ~0.02,
    under the 0.05 floor) is drift from the raw reference and from its stored profile alike; at 1 %
    neither path flags it, though the p-value is tiny."""
    rng = np.random.default_rng(3)
    probs = 1.0 / np.arange(1, 36) ** 1.1
    labels = np.array([f"region_{i:02d}" for i in range(35)], dtype=object)
    n = 100_000
    ref = pd.DataFrame({"region": labels[rng.choice(35, n, p=probs / probs.sum())]})
    values = labels[rng.choice(35, n, p=probs / probs.sum())]
    values[rng.permutation(n)[: int(share * n)]] = "region_new"
    cur = pd.DataFrame({"region": values})
    for reference in (Reference.from_frame(ref), _stored_profile(ref)):
        result = detect_drift(reference, cur).features[0]
        assert result.unseen_share == pytest.approx(share)
        assert result.details["tvd"] < 0.05 and result.p_value is not None and result.p_value < 1e-100
        assert result.drifted is flagged
