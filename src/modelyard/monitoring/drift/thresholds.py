"""Every knob of the drift tests in one value object, so a monitor stores and shows its rules.

Defaults follow the project's drift reference notes (reference/drift.md): a p-value test flags
drift only when it is significant after multiple-testing correction *and* the effect is at least
a floor. Significance alone flags noise at a million rows (a KS D of 0.0026 is "significant"
there); an effect size alone misses real shifts (JS 0.076 for a 10-point category move).
Distances (PSI, JS, Wasserstein) keep the thresholds users know from Evidently and credit-risk practice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

from modelyard.errors import InvalidInput

Correction: TypeAlias = Literal["holm", "bh", "bonferroni", "none"]


@dataclass(frozen=True, kw_only=True)
class DriftThresholds:
    """Thresholds, floors and sample-size rules for the drift tests.

    - ``alpha``: a p-value test is significant when its p-value (adjusted, at dataset level) is
      below ``alpha``.
    - ``correction``: how p-values are adjusted across the features of one dataset-level run:
      ``"holm"`` (default: no undrifted column flagged, with 95 % confidence, over the whole run),
      ``"bh"`` (Benjamini-Hochberg: more power, tolerates ~5 % of flags being false),
      ``"bonferroni"`` or ``"none"``. Single-feature calls never adjust.
    - ``min_samples``: below this many non-missing values on either side (rows, for the
      missing-rate test) a test returns status ``insufficient_data`` instead of a verdict.
    - ``psi_moderate`` / ``psi_significant``: PSI >= 0.1 is a moderate change (status
      ``moderate``, not drifted), PSI > 0.25 is significant (drifted).
    - ``psi_epsilon``: empty-bin smoothing; both shares are floored at this value before the log.
    - ``js_threshold``: Jensen-Shannon *distance* (natural log, so at most sqrt(ln 2) ~ 0.833).
    - ``wasserstein_threshold``: Wasserstein-1 divided by the reference's population std.
    - ``ks_min_statistic``: the KS D a significant result must also reach.
    - ``chi2_min_tvd``: the total variation distance (share of rows that moved between levels) a
      significant chi-square result must also reach, unless ``unseen_min_share`` is reached:
    - ``unseen_min_share``: the share of current rows in levels the reference never held that is
      an effect in itself (a new level at 2 % of rows is a real change, whatever the TVD).
    - ``missing_min_change``: the absolute missing-rate change a significant z-test must also reach.
    - ``dataset_share``: dataset drift when the (weighted) share of drifted features reaches this.
      Not Evidently's 0.5, which called 5 truly drifted features out of 25 "no drift".
    """

    alpha: float = 0.05
    correction: Correction = "holm"
    min_samples: int = 30
    psi_moderate: float = 0.1
    psi_significant: float = 0.25
    psi_epsilon: float = 1e-4
    js_threshold: float = 0.1
    wasserstein_threshold: float = 0.1
    ks_min_statistic: float = 0.05
    chi2_min_tvd: float = 0.05
    unseen_min_share: float = 0.02
    missing_min_change: float = 0.01
    dataset_share: float = 0.2

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha < 1.0:
            raise InvalidInput("alpha must be in (0, 1)", alpha=self.alpha)
        if self.correction not in ("holm", "bh", "bonferroni", "none"):
            raise InvalidInput("correction must be 'holm', 'bh', 'bonferroni' or 'none'", correction=self.correction)
        if self.min_samples < 1:
            raise InvalidInput("min_samples must be at least 1", min_samples=self.min_samples)
        if not 0.0 < self.psi_epsilon < 1.0:
            raise InvalidInput("psi_epsilon must be in (0, 1)", psi_epsilon=self.psi_epsilon)
        if self.psi_moderate > self.psi_significant:
            raise InvalidInput("psi_moderate must not exceed psi_significant")
        if not 0.0 < self.dataset_share <= 1.0:
            raise InvalidInput("dataset_share must be in (0, 1]", dataset_share=self.dataset_share)
        for name in (
            "psi_moderate",
            "js_threshold",
            "wasserstein_threshold",
            "ks_min_statistic",
            "chi2_min_tvd",
            "unseen_min_share",
            "missing_min_change",
        ):
            if getattr(self, name) < 0:
                raise InvalidInput(f"{name} must not be negative", **{name: getattr(self, name)})


DEFAULT_THRESHOLDS = DriftThresholds()
