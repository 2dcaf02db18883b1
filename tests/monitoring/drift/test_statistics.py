"""Each statistic against its reference implementation (scipy, or the formula written out), to 1e-9."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from modelyard.errors import InvalidInput
from modelyard.monitoring.drift import (
    adjust_p_values,
    chi2_homogeneity,
    jensen_shannon,
    ks_2samp_sorted,
    missing_rate_test,
    psi,
    quantile_cuts,
    total_variation,
    wasserstein_1,
)
from modelyard.monitoring.drift.chi2 import merge_sparse_levels
from modelyard.monitoring.drift.ks import ks_from_binned, pooled_cdfs
from modelyard.monitoring.drift.psi import bin_counts, bin_counts_sorted, sorted_quantiles
from modelyard.monitoring.drift.wasserstein import normalised, wasserstein_from_binned

TOL = 1e-9


def _samples(rng: np.random.Generator, kind: str, n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    if kind == "normal":
        return rng.normal(0, 1, n), rng.normal(0.1, 1.2, m)
    if kind == "lognormal":
        return rng.lognormal(0, 0.5, n), rng.lognormal(0.05, 0.5, m)
    # integer counts: many ties, the case where a CDF must be taken at the end of each tie run
    return rng.poisson(4, n).astype(float), rng.poisson(4.4, m).astype(float)


SIZES = [(40, 60), (1_000, 700), (9_000, 10_000), (12_000, 30_000), (50_000, 20_000)]


@pytest.mark.parametrize("kind", ["normal", "lognormal", "poisson"])
@pytest.mark.parametrize(("n", "m"), SIZES)
def test_ks_matches_scipy_ks_2samp(kind: str, n: int, m: int) -> None:
    a, b = _samples(np.random.default_rng(n + m), kind, n, m)
    ours = ks_2samp_sorted(np.sort(a), np.sort(b))
    ref = stats.ks_2samp(a, b)
    assert ours.statistic == pytest.approx(float(ref.statistic), abs=TOL)
    assert ours.p_value == pytest.approx(float(ref.pvalue), abs=TOL, rel=TOL)


def test_ks_with_precomputed_cdfs_is_the_same_test() -> None:
    a, b = _samples(np.random.default_rng(1), "normal", 20_000, 25_000)
    sa, sb = np.sort(a), np.sort(b)
    _, cdf_a, cdf_b = pooled_cdfs(sa, sb)
    assert ks_2samp_sorted(sa, sb, cdfs=(cdf_a, cdf_b)) == ks_2samp_sorted(sa, sb)


def test_ks_of_identical_samples_is_zero_and_of_disjoint_ones_is_one() -> None:
    x = np.sort(np.random.default_rng(2).normal(size=500))
    assert ks_2samp_sorted(x, x).statistic == 0.0
    assert ks_2samp_sorted(x, x + 100).statistic == 1.0


@pytest.mark.parametrize("kind", ["normal", "lognormal", "poisson"])
@pytest.mark.parametrize(("n", "m"), SIZES)
def test_wasserstein_matches_scipy(kind: str, n: int, m: int) -> None:
    a, b = _samples(np.random.default_rng(7 * n + m), kind, n, m)
    assert wasserstein_1(a, b) == pytest.approx(stats.wasserstein_distance(a, b), rel=TOL, abs=TOL)


def test_wasserstein_normalised_by_reference_spread() -> None:
    a, b = _samples(np.random.default_rng(3), "normal", 5_000, 5_000)
    assert normalised(wasserstein_1(a, b), float(a.std())) == pytest.approx(
        stats.wasserstein_distance(a, b) / np.std(a), rel=TOL
    )
    assert normalised(0.0, 0.0) == 0.0
    assert normalised(0.5, 0.0) == math.inf


def _direct_psi(ref_counts: np.ndarray, cur_counts: np.ndarray, eps: float) -> float:
    """PSI written out term by term, as a spreadsheet would compute it."""
    total = 0.0
    for r, c in zip(ref_counts, cur_counts, strict=True):
        p = max(r / ref_counts.sum(), eps)
        q = max(c / cur_counts.sum(), eps)
        total += (q - p) * math.log(q / p)
    return total


@pytest.mark.parametrize("kind", ["normal", "lognormal", "poisson"])
@pytest.mark.parametrize("eps", [1e-4, 1e-3])
def test_psi_on_reference_deciles_matches_the_direct_formula(kind: str, eps: float) -> None:
    a, b = _samples(np.random.default_rng(11), kind, 20_000, 15_000)
    sa, sb = np.sort(a), np.sort(b)
    cuts = quantile_cuts(sa, 10)
    assert np.all(np.diff(cuts) > 0)
    ref_counts = bin_counts_sorted(sa, cuts)
    cur_counts = bin_counts_sorted(sb, cuts)
    # the unsorted (profile) path bins identically
    assert np.array_equal(cur_counts, bin_counts(b, cuts))
    # bins are [cuts[i-1], cuts[i]) with open outer bins, as numpy.digitize defines them
    assert np.array_equal(cur_counts, np.bincount(np.digitize(b, cuts), minlength=cuts.size + 1))
    assert psi(ref_counts, cur_counts, epsilon=eps) == pytest.approx(_direct_psi(ref_counts, cur_counts, eps), abs=TOL)


def test_psi_deciles_hold_a_tenth_of_a_continuous_reference_each() -> None:
    a = np.sort(np.random.default_rng(5).normal(size=10_000))
    counts = bin_counts_sorted(a, quantile_cuts(a, 10))
    assert counts.size == 10
    assert np.all(np.abs(counts - 1_000) <= 1)


def test_psi_smooths_empty_bins_and_counts_unseen_levels() -> None:
    ref = np.array([500, 500, 0])
    cur = np.array([450, 500, 50])
    value = psi(ref, cur, epsilon=1e-4)
    assert math.isfinite(value)
    assert value == pytest.approx(_direct_psi(ref, cur, 1e-4), abs=TOL)
    # the unseen level's term dominates: (0.05 - 1e-4) * ln(0.05 / 1e-4)
    assert value > (0.05 - 1e-4) * math.log(0.05 / 1e-4)


def test_psi_of_a_constant_column_has_one_bin() -> None:
    x = np.full(100, 3.0)
    cuts = quantile_cuts(x, 10)
    assert cuts.size == 0
    assert psi(bin_counts_sorted(x, cuts), bin_counts_sorted(x, cuts)) == 0.0


@pytest.mark.parametrize("seed", range(5))
def test_chi2_matches_scipy_contingency(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 30))
    ref = rng.integers(5, 500, k)
    cur = rng.integers(5, 500, k)
    ours = chi2_homogeneity(ref, cur)
    ref_stat, ref_p, ref_dof, _ = stats.chi2_contingency(np.vstack([ref, cur]), correction=False)
    assert ours.statistic == pytest.approx(ref_stat, rel=TOL)
    assert ours.p_value == pytest.approx(ref_p, rel=TOL, abs=TOL)
    assert ours.dof == ref_dof


def test_chi2_counts_unseen_levels_and_skips_empty_ones() -> None:
    ref = np.array([300, 200, 0, 0])
    cur = np.array([280, 190, 30, 0])  # a level new in the window; one level in neither
    ours = chi2_homogeneity(ref, cur)
    ref_stat, ref_p, ref_dof, _ = stats.chi2_contingency(np.array([[300, 200, 0], [280, 190, 30]]), correction=False)
    assert ours.statistic == pytest.approx(ref_stat, rel=TOL)
    assert ours.p_value == pytest.approx(ref_p, rel=TOL, abs=TOL)
    assert ours.dof == ref_dof == 2


def test_merge_sparse_levels_keeps_every_row() -> None:
    ref = np.array([400.0, 300.0, 4.0, 3.0, 0.0])
    cur = np.array([380.0, 310.0, 3.0, 4.0, 2.0])
    r, c = merge_sparse_levels(ref, cur)
    assert r.sum() == ref.sum() and c.sum() == cur.sum()
    assert r.size == 3  # the three sparse levels pooled into one
    assert r[-1] == 7.0 and c[-1] == 9.0
    # a pooled level still too sparse takes in the next rarest one
    r2, _ = merge_sparse_levels(np.array([400.0, 300.0, 2.0, 1.0]), np.array([380.0, 310.0, 1.0, 3.0]))
    assert r2.size == 2


@pytest.mark.parametrize("seed", range(5))
def test_jensen_shannon_matches_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 40))
    ref = rng.integers(0, 200, k).astype(float)
    cur = rng.integers(0, 200, k).astype(float)
    ref[0], cur[-1] = 0.0, 0.0  # a level only on one side each
    assert jensen_shannon(ref, cur) == pytest.approx(float(jensenshannon(ref, cur)), abs=TOL)


def test_total_variation_is_the_share_of_rows_that_moved() -> None:
    assert total_variation([38, 62], [28, 72]) == pytest.approx(0.10, abs=TOL)


@pytest.mark.parametrize(("x1", "n1", "x2", "n2"), [(10, 1_000, 100, 1_000), (3, 200, 4, 300), (50, 10_000, 52, 9_000)])
def test_missing_rate_z_test_matches_the_2x2_chi_square(x1: int, n1: int, x2: int, n2: int) -> None:
    res = missing_rate_test(x1, n1, x2, n2)
    table = np.array([[x1, n1 - x1], [x2, n2 - x2]])
    chi2, p, _, _ = stats.chi2_contingency(table, correction=False)
    assert res.z**2 == pytest.approx(chi2, rel=TOL)
    assert res.p_value == pytest.approx(p, rel=TOL, abs=TOL)
    assert res.change == pytest.approx(x2 / n2 - x1 / n1, abs=TOL)
    assert math.copysign(1, res.z) == math.copysign(1, res.change)


def test_missing_rate_without_any_missing_value_is_no_change() -> None:
    res = missing_rate_test(0, 100, 0, 100)
    assert (res.z, res.p_value) == (0.0, 1.0)


@pytest.mark.parametrize("seed", range(5))
def test_bh_matches_scipy_false_discovery_control(seed: int) -> None:
    ps = np.random.default_rng(seed).uniform(0, 0.2, 25) ** 2
    np.testing.assert_allclose(adjust_p_values(ps, "bh"), stats.false_discovery_control(ps, method="bh"), atol=TOL)
    np.testing.assert_allclose(adjust_p_values(ps, "bonferroni"), np.minimum(ps * 25, 1.0), atol=TOL)
    np.testing.assert_array_equal(adjust_p_values(ps, "none"), ps)


def _direct_holm(ps: np.ndarray) -> np.ndarray:
    """Holm's adjusted p-values written out as in the textbook definition."""
    m = len(ps)
    order = sorted(range(m), key=lambda i: ps[i])
    out = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * ps[i]))
        out[i] = running
    return out


@pytest.mark.parametrize("seed", range(5))
def test_holm_matches_the_direct_definition(seed: int) -> None:
    ps = np.random.default_rng(seed).uniform(0, 0.3, 25) ** 2
    np.testing.assert_allclose(adjust_p_values(ps, "holm"), _direct_holm(ps), atol=TOL)


def test_adjust_rejects_values_that_are_not_p_values() -> None:
    with pytest.raises(InvalidInput, match=r"\[0, 1\]"):
        adjust_p_values([0.1, 1.5], "bh")


def test_sketch_approximations_are_close_to_exact() -> None:
    a, b = _samples(np.random.default_rng(9), "lognormal", 100_000, 100_000)
    sa, sb = np.sort(a), np.sort(b)
    cuts = quantile_cuts(sa, 1000)
    ref_counts, cur_counts = bin_counts_sorted(sa, cuts), bin_counts(b, cuts)
    exact = ks_2samp_sorted(sa, sb)
    approx = ks_from_binned(ref_counts, cur_counts)
    assert abs(approx.statistic - exact.statistic) < 2e-3
    w_exact = wasserstein_1(a, b) / a.std()
    w_approx = wasserstein_from_binned(cuts, ref_counts, cur_counts) / a.std()
    assert abs(w_approx - w_exact) < 5e-3


def test_statistics_refuse_empty_or_mismatched_input() -> None:
    with pytest.raises(InvalidInput, match="non-empty"):
        ks_2samp_sorted(np.array([]), np.array([1.0]))
    with pytest.raises(InvalidInput, match="same bins"):
        psi([1, 2], [1, 2, 3])
    with pytest.raises(InvalidInput, match="non-empty"):
        jensen_shannon([0, 0], [1, 2])
    with pytest.raises(InvalidInput, match="rows on both sides"):
        missing_rate_test(0, 0, 1, 10)


@pytest.mark.parametrize("n", [1, 2, 7, 1_000, 99_999])
def test_quantiles_of_a_sorted_sample_equal_numpy_quantile(n: int) -> None:
    rng = np.random.default_rng(n)
    levels = np.arange(0, 1001) / 1000
    for x in (rng.normal(size=n), rng.poisson(3, n).astype(float), rng.lognormal(size=n) * 1e6):
        s = np.sort(x)
        np.testing.assert_array_equal(sorted_quantiles(s, levels), np.quantile(s, levels))
