"""Multiple-testing correction of the p-values of one dataset-level run.

Testing 25 columns at p < 0.05 flags about one undrifted column per run by chance. The default
is Benjamini-Hochberg: it controls the *false discovery rate* (the share of flagged columns that
did not drift), which is the quantity a drift alert is judged by, and it keeps more power than
Holm or Bonferroni (which control the chance of any false flag) when several columns truly drift,
as they do together under a real data shift. Significance is paired with an effect-size floor in
the monitor, which removes the remaining "significant but negligible" flags of large windows.
Bonferroni stays available for users who want the strict family-wise guarantee.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from modelyard.errors import InvalidInput
from modelyard.monitoring.drift.thresholds import Correction


def adjust_p_values(p_values: npt.ArrayLike, method: Correction) -> npt.NDArray[np.float64]:
    """Adjusted p-values, in input order: compare them with ``alpha`` directly.

    ``"bh"`` gives the Benjamini-Hochberg adjusted values (same as
    ``scipy.stats.false_discovery_control(ps, method="bh")``), ``"bonferroni"`` ``min(m * p, 1)``,
    ``"none"`` the input unchanged.
    """
    ps = np.asarray(p_values, dtype=np.float64)
    if ps.ndim != 1:
        raise InvalidInput("p-values must be a flat sequence")
    if ps.size and (np.isnan(ps).any() or ps.min() < 0 or ps.max() > 1):
        raise InvalidInput("p-values must be in [0, 1]")
    m = ps.size
    if m == 0 or method == "none":
        return ps.copy()
    if method == "bonferroni":
        return np.minimum(ps * m, 1.0)
    if method == "bh":
        order = np.argsort(ps)
        ranked = ps[order] * (m / np.arange(1, m + 1))
        ranked = np.minimum.accumulate(ranked[::-1])[::-1]
        out = np.empty(m, dtype=np.float64)
        out[order] = np.minimum(ranked, 1.0)
        return out
    raise InvalidInput("unknown correction", correction=method)
