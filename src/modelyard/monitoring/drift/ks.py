"""Two-sample Kolmogorov-Smirnov on pre-sorted samples, identical to ``scipy.stats.ks_2samp``.

The monitor sorts each numeric column once and shares the sort with Wasserstein and PSI, so the
statistic is computed here from sorted arrays instead of letting scipy sort again. The p-value
follows scipy's ``method="auto"``: the exact distribution while both samples have at most 10,000
values (delegated to scipy, cheap at that size), Smirnov's asymptotic ``kstwo`` beyond.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

from modelyard.errors import InvalidInput

EXACT_MAX_N = 10_000
"""scipy's ``MAX_AUTO_N``: the largest sample for which ``auto`` uses the exact p-value."""

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, kw_only=True)
class KSResult:
    statistic: float
    p_value: float


def pooled_cdfs(reference_sorted: FloatArray, current_sorted: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The distinct values of the pooled sample and both empirical CDFs (right-continuous) there.

    KS takes the largest CDF gap and Wasserstein integrates the gap between consecutive distinct
    values, so the monitor computes this once per column and hands it to both. The two sorted
    samples are merged by a stable argsort (timsort finds the two sorted runs and merges them in
    linear time) instead of sorting the pooled sample again and binary-searching it twice.
    """
    n_ref, n_cur = reference_sorted.size, current_sorted.size
    merged = np.concatenate((reference_sorted, current_sorted))
    # Stable: among equal values the reference's come first, which the tie handling below needs.
    order = merged.argsort(kind="stable")
    merged = merged[order]
    is_cur = order >= n_ref
    del order
    cum_cur = np.cumsum(is_cur, dtype=np.int64)
    cum_ref = np.arange(1, n_ref + n_cur + 1, dtype=np.int64) - cum_cur
    # Within a run of equal values only its last position has both counts complete.
    last = np.empty(merged.size, dtype=bool)
    np.not_equal(merged[1:], merged[:-1], out=last[:-1])
    last[-1] = True
    return merged[last], cum_ref[last] / n_ref, cum_cur[last] / n_cur


def ks_2samp_sorted(
    reference_sorted: FloatArray,
    current_sorted: FloatArray,
    *,
    cdfs: tuple[FloatArray, FloatArray] | None = None,
) -> KSResult:
    """Two-sided two-sample KS of two sorted, NaN-free samples.

    ``cdfs`` are both CDFs on the pooled sample from ``pooled_cdfs`` when the caller already has
    them (the monitor does, for Wasserstein); they are computed here otherwise.
    """
    n_ref, n_cur = reference_sorted.size, current_sorted.size
    if n_ref == 0 or n_cur == 0:
        raise InvalidInput("KS needs non-empty samples", reference=n_ref, current=n_cur)
    if max(n_ref, n_cur) <= EXACT_MAX_N:
        res = stats.ks_2samp(reference_sorted, current_sorted)
        return KSResult(statistic=float(res.statistic), p_value=float(res.pvalue))
    if cdfs is None:
        _, cdf_ref, cdf_cur = pooled_cdfs(reference_sorted, current_sorted)
    else:
        cdf_ref, cdf_cur = cdfs
    diffs = cdf_ref - cdf_cur
    d = float(max(np.clip(-diffs.min(), 0.0, 1.0), diffs.max()))
    return KSResult(statistic=d, p_value=_asymptotic_p_value(d, n_ref, n_cur))


def ks_from_binned(reference_counts: npt.ArrayLike, current_counts: npt.ArrayLike) -> KSResult:
    """KS approximated on shared bins (a stored profile's sketch): D is the largest gap of the
    cumulative shares at the cut points, the p-value Smirnov's asymptotic one for the true sizes.
    With ~1,000 reference-quantile cuts D is within ~1e-3 of the exact value."""
    ref = np.asarray(reference_counts, dtype=np.float64)
    cur = np.asarray(current_counts, dtype=np.float64)
    n_ref, n_cur = int(ref.sum()), int(cur.sum())
    if n_ref == 0 or n_cur == 0:
        raise InvalidInput("KS needs non-empty samples")
    d = float(np.abs(np.cumsum(ref) / n_ref - np.cumsum(cur) / n_cur).max())
    return KSResult(statistic=d, p_value=_asymptotic_p_value(d, n_ref, n_cur))


def _asymptotic_p_value(d: float, n_ref: int, n_cur: int) -> float:
    m, n = sorted((float(n_ref), float(n_cur)), reverse=True)
    en = m * n / (m + n)
    return float(np.clip(stats.kstwo.sf(d, np.round(en)), 0.0, 1.0))
