"""Population Stability Index on bins fixed by the reference.

PSI is only comparable across windows when the bins are: the cuts come from the *reference's*
quantiles (deciles by default) with open outer bins, so a current window is binned on the same
edges and values outside the reference range still land somewhere. Empty bins are smoothed by
flooring both shares at ``epsilon`` before the log (documented, because the value depends on it:
a level absent from the reference and at 5 % in the window contributes ~0.31 with 1e-4).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from modelyard.errors import InvalidInput

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def quantile_cuts(sorted_values: FloatArray, n_bins: int) -> FloatArray:
    """Inner cut points at the reference's ``1/n_bins ... (n_bins-1)/n_bins`` quantiles.

    Tied quantiles are merged, so a column with few distinct values gets fewer bins (never an
    empty bin caused by a repeated cut). ``sorted_values`` must be sorted and free of NaN.
    """
    if n_bins < 2:
        raise InvalidInput("PSI needs at least 2 bins", n_bins=n_bins)
    if sorted_values.size == 0:
        return np.empty(0, dtype=np.float64)
    levels = np.arange(1, n_bins, dtype=np.float64) / n_bins
    cuts = np.unique(sorted_quantiles(sorted_values, levels))
    # A cut at the minimum would leave the open lower bin empty by construction.
    return np.asarray(cuts[cuts > sorted_values[0]], dtype=np.float64)


def sorted_quantiles(sorted_values: FloatArray, levels: npt.ArrayLike) -> FloatArray:
    """``numpy.quantile(values, levels)`` (its default linear method) read off an already sorted
    sample: two lookups per level instead of a partition of the whole column per call."""
    q = np.asarray(levels, dtype=np.float64)
    position = q * (sorted_values.size - 1)
    lower = np.floor(position).astype(np.int64)
    upper = np.minimum(lower + 1, sorted_values.size - 1)
    frac = position - lower
    lo, hi = sorted_values[lower], sorted_values[upper]
    # numpy's lerp form, so results agree to the last bit
    out = np.where(frac >= 0.5, hi - (hi - lo) * (1 - frac), lo + (hi - lo) * frac)
    return np.asarray(out, dtype=np.float64)


def bin_counts_sorted(sorted_values: FloatArray, cuts: FloatArray) -> IntArray:
    """Counts per bin ``[cuts[i-1], cuts[i])`` of an already sorted sample: one binary search per cut."""
    edges = np.searchsorted(sorted_values, cuts, side="left")
    bounds = np.concatenate(([0], edges, [sorted_values.size]))
    return np.diff(bounds).astype(np.int64)


def bin_counts(values: FloatArray, cuts: FloatArray) -> IntArray:
    """Counts per bin of an unsorted sample (the profile/sketch path: no sort, one pass)."""
    index = np.searchsorted(cuts, values, side="right")
    return np.bincount(index, minlength=cuts.size + 1).astype(np.int64)


def psi(reference_counts: npt.ArrayLike, current_counts: npt.ArrayLike, *, epsilon: float = 1e-4) -> float:
    """PSI = sum((cur - ref) * ln(cur / ref)) over bins, on shares floored at ``epsilon``.

    Both count vectors are over the same bins (for categoricals: the same levels, unseen ones
    included with a reference count of 0). Either side empty is ``InvalidInput``.
    """
    ref = np.asarray(reference_counts, dtype=np.float64)
    cur = np.asarray(current_counts, dtype=np.float64)
    if ref.shape != cur.shape:
        raise InvalidInput("PSI needs counts over the same bins", reference=ref.size, current=cur.size)
    ref_total, cur_total = ref.sum(), cur.sum()
    if ref_total <= 0 or cur_total <= 0:
        raise InvalidInput("PSI needs a non-empty reference and current sample")
    p = np.maximum(ref / ref_total, epsilon)
    q = np.maximum(cur / cur_total, epsilon)
    return float(np.sum((q - p) * np.log(q / p)))
