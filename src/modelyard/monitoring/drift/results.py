"""What a drift test answers: one plain record per feature, and one per dataset-level run.

Records come first and rendering later (reports read these), so a test's result never depends on
how it will be shown. A result states its verdict outright (``drifted``, ``status``): a reader need
not know whether the method's statistic is a p-value (low means drift) or a distance (high means
drift) to use it.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Any

from modelyard.monitoring.drift.thresholds import DriftThresholds


class DriftStatus(enum.StrEnum):
    """The verdict of one test. Only ``DRIFT`` sets ``drifted``; ``MODERATE`` is PSI's middle band."""

    NO_DRIFT = "no_drift"
    MODERATE = "moderate"
    DRIFT = "drift"
    INSUFFICIENT_DATA = "insufficient_data"


class DriftMethod(enum.StrEnum):
    """The statistic a result was computed with."""

    PSI = "psi"
    KS = "ks"
    CHI2 = "chi2"
    JS = "js"
    WASSERSTEIN = "wasserstein"
    MISSING_RATE = "missing_rate"

    @property
    def is_p_value_test(self) -> bool:
        """Tests whose p-values are adjusted together at dataset level."""
        return self in (DriftMethod.KS, DriftMethod.CHI2, DriftMethod.MISSING_RATE)


@dataclass(frozen=True, kw_only=True)
class FeatureDrift:
    """One test of one feature, reference against current.

    ``statistic`` is the method's own number (PSI, KS D, chi-square, JS distance, W1/spread, z) and
    ``p_value`` the unadjusted p-value of a p-value test (``None`` for distances). ``threshold`` is
    what the deciding number was compared with: ``alpha`` for p-value tests, the distance threshold
    otherwise. ``statistic`` and ``p_value`` are ``None`` with status ``insufficient_data``.
    ``details`` holds the effect size, the adjusted p-value, sample sizes, the secondary statistics
    and, for categoricals, the unseen levels by name; all values are JSON-ready.
    ``unseen_share`` (categoricals) is the share of the current values in levels the reference
    never held; ``None`` for numeric columns, too few values, or a reference profile that cannot
    tell unseen levels from its unlisted ones (``details["note"]`` then says so).
    """

    feature: str
    method: DriftMethod
    statistic: float | None
    p_value: float | None
    threshold: float
    drifted: bool
    status: DriftStatus
    unseen_share: float | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "method": self.method.value,
            "statistic": _json_float(self.statistic),
            "p_value": _json_float(self.p_value),
            "threshold": self.threshold,
            "drifted": self.drifted,
            "status": self.status.value,
            "unseen_share": _json_float(self.unseen_share),
            "details": {k: _json_value(v) for k, v in self.details.items()},
        }


@dataclass(frozen=True, kw_only=True)
class DatasetDrift:
    """A dataset-level run: per-feature results and the share of drifted features.

    ``features`` holds one distribution result per tested feature and ``missing`` one missing-rate
    result per tested feature, both in column order. A feature counts as drifted when either of its
    results did. ``share_drifted`` is weighted when weights were given (e.g. feature importances).
    ``skipped`` names columns left out (datetime columns unless asked for by name).
    """

    features: tuple[FeatureDrift, ...]
    missing: tuple[FeatureDrift, ...]
    drifted_features: tuple[str, ...]
    share_drifted: float
    dataset_drifted: bool
    thresholds: DriftThresholds
    skipped: tuple[str, ...] = ()

    def feature(self, name: str) -> FeatureDrift | None:
        """The distribution result for ``name``, if it was tested."""
        return next((f for f in self.features if f.feature == name), None)

    def missing_for(self, name: str) -> FeatureDrift | None:
        """The missing-rate result for ``name``, if it was tested."""
        return next((f for f in self.missing if f.feature == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": [f.to_dict() for f in self.features],
            "missing": [f.to_dict() for f in self.missing],
            "drifted_features": list(self.drifted_features),
            "share_drifted": self.share_drifted,
            "dataset_drifted": self.dataset_drifted,
            "correction": self.thresholds.correction,
            "skipped": list(self.skipped),
        }


def _json_float(value: float | None) -> float | str | None:
    # JSON has no inf/nan; keep them readable rather than failing the whole report.
    if value is None or math.isfinite(value):
        return value
    return str(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, float):
        return _json_float(value)
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    return value
