"""Chi-square test of homogeneity (2 x K contingency) for a categorical column.

Reference and current are two *samples*, so the test is the two-sample contingency test, not a
goodness of fit against the reference proportions: the GoF form treats a 1,000-row reference as
the true population and flags noise (p = 1e-10 on an undrifted column in the project's notes).
No Yates continuity correction, even for 2 x 2, so the statistic is the plain Pearson one; levels
seen in neither sample carry no information and are left out. The effect size reported beside it
is the total variation distance: the share of rows that moved between levels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

from modelyard.errors import InvalidInput

MIN_EXPECTED = 5.0
"""Cells expected below this are merged before the test (the usual validity rule of thumb)."""


@dataclass(frozen=True, kw_only=True)
class Chi2Result:
    statistic: float
    p_value: float
    dof: int


def chi2_homogeneity(reference_counts: npt.ArrayLike, current_counts: npt.ArrayLike) -> Chi2Result:
    """Pearson chi-square of the 2 x K table [reference, current]; equals
    ``scipy.stats.chi2_contingency(table, correction=False)`` on the levels seen at least once."""
    ref = np.asarray(reference_counts, dtype=np.float64)
    cur = np.asarray(current_counts, dtype=np.float64)
    if ref.shape != cur.shape:
        raise InvalidInput("chi-square needs counts over the same levels", reference=ref.size, current=cur.size)
    seen = (ref + cur) > 0
    ref, cur = ref[seen], cur[seen]
    n_ref, n_cur = ref.sum(), cur.sum()
    if n_ref <= 0 or n_cur <= 0:
        raise InvalidInput("chi-square needs a non-empty reference and current sample")
    if ref.size < 2:
        # One level on both sides: the distributions are identical.
        return Chi2Result(statistic=0.0, p_value=1.0, dof=0)
    total = n_ref + n_cur
    col = ref + cur
    exp_ref = col * (n_ref / total)
    exp_cur = col * (n_cur / total)
    statistic = float(np.sum((ref - exp_ref) ** 2 / exp_ref) + np.sum((cur - exp_cur) ** 2 / exp_cur))
    dof = ref.size - 1
    return Chi2Result(statistic=statistic, p_value=float(stats.chi2.sf(statistic, dof)), dof=dof)


def merge_sparse_levels(
    reference_counts: npt.ArrayLike, current_counts: npt.ArrayLike, *, min_expected: float = MIN_EXPECTED
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Pool the levels whose expected count is below ``min_expected`` in either row into one level.

    Sparse cells make the chi-square approximation unreliable (small samples flood alarms).
    Pooling keeps their rows counted, unseen levels included, instead of dropping them. Levels
    are pooled rarest first (by combined count) until the pooled level itself is no longer sparse.
    """
    ref = np.asarray(reference_counts, dtype=np.float64)
    cur = np.asarray(current_counts, dtype=np.float64)
    total = ref.sum() + cur.sum()
    if total <= 0:
        return ref, cur
    col = ref + cur
    smaller_share = min(ref.sum(), cur.sum()) / total
    expected_min = col * smaller_share
    sparse = expected_min < min_expected
    if not sparse.any():
        return ref, cur
    order = np.argsort(col, kind="stable")
    pooled = np.zeros(col.size, dtype=bool)
    pooled_total = 0.0
    for i in order:
        if not sparse[i] and pooled_total * smaller_share >= min_expected:
            break
        pooled[i] = True
        pooled_total += col[i]
    keep = ~pooled
    return (
        np.append(ref[keep], ref[pooled].sum()),
        np.append(cur[keep], cur[pooled].sum()),
    )


def total_variation(reference_counts: npt.ArrayLike, current_counts: npt.ArrayLike) -> float:
    """Half the L1 distance between the two level distributions: the share of rows that moved."""
    ref = np.asarray(reference_counts, dtype=np.float64)
    cur = np.asarray(current_counts, dtype=np.float64)
    return float(0.5 * np.abs(ref / ref.sum() - cur / cur.sum()).sum())
