"""Missing-rate change: a two-proportion z-test on the share of missing rows.

Drift statistics ignore missing values, so a column whose null rate jumps from 1 % to 10 % with
unchanged values is invisible to them (Evidently drops NaN before testing). This test scores that
change on its own. The pooled-variance z is the square root of the 2 x 2 chi-square without
continuity correction, so its p-value equals ``chi2_contingency(..., correction=False)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

from modelyard.errors import InvalidInput


@dataclass(frozen=True, kw_only=True)
class MissingRateResult:
    reference_rate: float
    current_rate: float
    change: float
    z: float
    p_value: float


def missing_rate_test(
    reference_missing: int, reference_rows: int, current_missing: int, current_rows: int
) -> MissingRateResult:
    """Two-sided z-test of ``current_missing / current_rows`` against the reference's rate."""
    if reference_rows <= 0 or current_rows <= 0:
        raise InvalidInput(
            "the missing-rate test needs rows on both sides", reference=reference_rows, current=current_rows
        )
    p_ref = reference_missing / reference_rows
    p_cur = current_missing / current_rows
    pooled = (reference_missing + current_missing) / (reference_rows + current_rows)
    variance = pooled * (1.0 - pooled) * (1.0 / reference_rows + 1.0 / current_rows)
    if variance <= 0:
        # Nothing missing anywhere, or everything missing everywhere: no change to test.
        z, p = 0.0, 1.0
    else:
        z = (p_cur - p_ref) / math.sqrt(variance)
        p = float(2.0 * stats.norm.sf(abs(z)))
    return MissingRateResult(reference_rate=p_ref, current_rate=p_cur, change=p_cur - p_ref, z=z, p_value=p)
