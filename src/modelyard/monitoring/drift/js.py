"""Jensen-Shannon distance between two level distributions (natural log).

Symmetric and bounded (at most sqrt(ln 2) ~ 0.833), and defined when a level appears on one side
only, which is why unseen categories can be counted rather than dropped. Same value as
``scipy.spatial.distance.jensenshannon(p, q)`` (base e), the convention Evidently's 0.1 uses.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from modelyard.errors import InvalidInput


def jensen_shannon(reference_counts: npt.ArrayLike, current_counts: npt.ArrayLike) -> float:
    """JS distance of the two count vectors over the same levels (normalised to shares here)."""
    ref = np.asarray(reference_counts, dtype=np.float64)
    cur = np.asarray(current_counts, dtype=np.float64)
    if ref.shape != cur.shape:
        raise InvalidInput("Jensen-Shannon needs counts over the same levels", reference=ref.size, current=cur.size)
    if ref.sum() <= 0 or cur.sum() <= 0:
        raise InvalidInput("Jensen-Shannon needs a non-empty reference and current sample")
    p = ref / ref.sum()
    q = cur / cur.sum()
    m = (p + q) / 2.0
    divergence = (_kl(p, m) + _kl(q, m)) / 2.0
    return float(np.sqrt(max(divergence, 0.0)))


def _kl(p: npt.NDArray[np.float64], m: npt.NDArray[np.float64]) -> float:
    # 0 * log(0 / m) = 0; m > 0 wherever p > 0.
    nz = p > 0
    return float(np.sum(p[nz] * np.log(p[nz] / m[nz])))
