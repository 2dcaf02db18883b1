"""Wasserstein-1 distance normalised by the reference's spread.

W1 is in the column's own units, so a threshold only means something once divided by a scale:
the reference's population standard deviation (``ddof=0``, what a profile stores), as Evidently
does. A constant reference has no spread: any move is then infinitely large relative to it
(``inf``), and no move is 0.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from modelyard.errors import InvalidInput
from modelyard.monitoring.drift.ks import pooled_cdfs

FloatArray = npt.NDArray[np.float64]


def wasserstein_from_cdfs(pooled: FloatArray, cdf_ref: FloatArray, cdf_cur: FloatArray) -> float:
    """W1 = integral of |F_ref - F_cur| between consecutive distinct pooled values (``ks.pooled_cdfs``)."""
    if pooled.size < 2:
        return 0.0
    deltas = np.diff(pooled)
    return float(np.dot(np.abs(cdf_ref[:-1] - cdf_cur[:-1]), deltas))


def wasserstein_1(reference: npt.ArrayLike, current: npt.ArrayLike) -> float:
    """W1 between two NaN-free samples (sorted or not); equals ``scipy.stats.wasserstein_distance``."""
    ref = np.sort(np.asarray(reference, dtype=np.float64))
    cur = np.sort(np.asarray(current, dtype=np.float64))
    if ref.size == 0 or cur.size == 0:
        raise InvalidInput("Wasserstein distance needs non-empty samples", reference=ref.size, current=cur.size)
    return wasserstein_from_cdfs(*pooled_cdfs(ref, cur))


def wasserstein_from_binned(
    cuts: npt.ArrayLike, reference_counts: npt.ArrayLike, current_counts: npt.ArrayLike
) -> float:
    """W1 approximated on shared bins (a stored profile's sketch): the CDF gap at each cut,
    integrated over the gaps between cuts. Mass beyond the outer cuts is not moved any further,
    so a shift past the reference range is underestimated; with ~1,000 quantile cuts the value
    is within ~1e-3 of the reference's spread inside the range."""
    c = np.asarray(cuts, dtype=np.float64)
    ref = np.asarray(reference_counts, dtype=np.float64)
    cur = np.asarray(current_counts, dtype=np.float64)
    if c.size < 2:
        return 0.0
    # diff[i] is F_ref - F_cur just below cuts[i]; inside [cuts[i], cuts[i+1]) it moves linearly
    # to diff[i+1] when values are spread evenly within a bin, so take the interval's midpoint.
    diff = np.cumsum(ref)[: c.size] / ref.sum() - np.cumsum(cur)[: c.size] / cur.sum()
    mid = np.abs(diff[:-1] + diff[1:]) / 2.0
    return float(np.dot(mid, np.diff(c)))


def normalised(w1: float, reference_std: float) -> float:
    """W1 in units of the reference's spread; ``inf`` for a move away from a constant reference."""
    if reference_std > 0:
        return w1 / reference_std
    return 0.0 if w1 == 0 else math.inf
