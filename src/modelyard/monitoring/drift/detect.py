"""Run the drift tests of every column of a window against a reference, once each.

Per numeric column the window is sorted once, and that sort feeds KS, Wasserstein and the PSI bin
counts (``np.searchsorted``); per categorical column the levels are counted once and aligned with
the reference's, unseen levels kept as their own cells. Every statistic is computed for every
column (they are cheap once sorted or counted) and reported in ``details``; the configured
method decides. P-value tests are then corrected across the run (``correction``), per family:
distribution tests together, missing-rate tests together.

A p-value test flags drift only when significant after correction *and* its effect reaches a
floor (KS D, or the categorical total variation distance, or PSI's moderate band): at a million
rows significance alone flags negligible differences.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from modelyard.errors import InvalidInput
from modelyard.monitoring.drift.chi2 import chi2_homogeneity, merge_sparse_levels, total_variation
from modelyard.monitoring.drift.correction import adjust_p_values
from modelyard.monitoring.drift.js import jensen_shannon
from modelyard.monitoring.drift.ks import ks_2samp_sorted, ks_from_binned, pooled_cdfs
from modelyard.monitoring.drift.levels import level_cells
from modelyard.monitoring.drift.missing import missing_rate_test
from modelyard.monitoring.drift.psi import bin_counts, bin_counts_sorted, psi
from modelyard.monitoring.drift.reference import (
    CategoricalReference,
    ColumnReference,
    NumericReference,
    Reference,
    level_counts,
    numeric_values,
)
from modelyard.monitoring.drift.results import DatasetDrift, DriftMethod, DriftStatus, FeatureDrift
from modelyard.monitoring.drift.thresholds import DEFAULT_THRESHOLDS, DriftThresholds
from modelyard.monitoring.drift.wasserstein import normalised, wasserstein_from_binned, wasserstein_from_cdfs

NUMERIC_METHODS = (DriftMethod.KS, DriftMethod.PSI, DriftMethod.WASSERSTEIN)
CATEGORICAL_METHODS = (DriftMethod.CHI2, DriftMethod.JS, DriftMethod.PSI)
MAX_LISTED_UNSEEN = 20
"""Unseen levels are named in ``details`` up to this many (most frequent first)."""
LEGACY_PROFILE_NOTE = (
    "the reference profile predates level sketches: a level outside its {listed} listed ones cannot be "
    "told from an unseen one, so unseen levels count with its 'other' bucket (log the dataset again to fix)"
)


@dataclass(kw_only=True)
class _Score:
    """One column's numbers before the run-wide correction decides."""

    feature: str
    method: DriftMethod
    statistic: float | None = None
    p_value: float | None = None
    effect_met: bool = False
    unseen_share: float | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def sufficient(self) -> bool:
        return self.statistic is not None


def detect_drift(
    reference: Reference,
    current: pd.DataFrame | pd.Series,
    *,
    thresholds: DriftThresholds = DEFAULT_THRESHOLDS,
    numeric_method: DriftMethod = DriftMethod.KS,
    categorical_method: DriftMethod = DriftMethod.CHI2,
    methods: Mapping[str, DriftMethod] | None = None,
    columns: Iterable[str] | None = None,
    weights: Mapping[str, float] | None = None,
) -> DatasetDrift:
    """Compare ``current`` with ``reference`` column by column and at dataset level.

    ``numeric_method`` (KS, PSI or Wasserstein) and ``categorical_method`` (chi-square, JS or PSI)
    decide per column type; ``methods`` overrides them per column. ``columns`` restricts the
    test to some reference columns (default: all); each must exist in ``current``. ``weights``
    (e.g. feature importances) weight the share of drifted features; unlisted columns weigh 1.
    """
    _check_method(numeric_method, NUMERIC_METHODS, "numeric_method")
    _check_method(categorical_method, CATEGORICAL_METHODS, "categorical_method")
    window = current.to_frame() if isinstance(current, pd.Series) else current
    if not isinstance(window, pd.DataFrame):
        raise InvalidInput("the current window must be a pandas DataFrame or Series", got=type(current).__name__)
    names = list(reference.names) if columns is None else [str(c) for c in columns]
    absent = [n for n in names if n not in window.columns]
    if absent:
        raise InvalidInput(f"the current window lacks column(s): {', '.join(absent)}")
    overrides = dict(methods or {})
    scores: list[_Score] = []
    missing: list[_Score] = []
    for name in names:
        ref = reference.column(name)
        method = overrides.get(name)
        if isinstance(ref, NumericReference):
            method = method or numeric_method
            _check_method(method, NUMERIC_METHODS, f"method for numeric column {name!r}")
            values = numeric_values(window[name], ref.profile.kind)
            scores.append(_score_numeric(ref, values, method, thresholds))
            n_missing = int(values.size - np.count_nonzero(np.isfinite(values)))
        else:
            method = method or categorical_method
            _check_method(method, CATEGORICAL_METHODS, f"method for categorical column {name!r}")
            counts = level_counts(window[name])
            scores.append(_score_categorical(ref, counts, method, thresholds))
            n_missing = len(window) - sum(counts.values())
        missing.append(_score_missing(ref, n_missing, len(window), thresholds))
    features = _decide(scores, thresholds)
    missing_results = _decide(missing, thresholds)
    return _dataset(features, missing_results, names, thresholds, weights, reference.skipped)


def _score_numeric(ref: NumericReference, values: np.ndarray, method: DriftMethod, th: DriftThresholds) -> _Score:
    prof = ref.profile
    score = _Score(feature=prof.name, method=method)
    cur = values[np.isfinite(values)]
    n_ref, n_cur = prof.value_count, int(cur.size)
    score.details.update(n_reference=n_ref, n_current=n_cur)
    if min(n_ref, n_cur) < th.min_samples:
        return score
    psi_cuts = np.asarray(prof.bins.cuts, dtype=np.float64)
    std = prof.std or 0.0
    if ref.sorted_values is not None:
        cur.sort()
        pooled, cdf_ref, cdf_cur = pooled_cdfs(ref.sorted_values, cur)
        ks = ks_2samp_sorted(ref.sorted_values, cur, cdfs=(cdf_ref, cdf_cur))
        w1 = wasserstein_from_cdfs(pooled, cdf_ref, cdf_cur)
        psi_value = psi(prof.bins.counts, bin_counts_sorted(cur, psi_cuts), epsilon=th.psi_epsilon)
        below = int(np.searchsorted(cur, prof.min, side="left")) if prof.min is not None else 0
        above = n_cur - int(np.searchsorted(cur, prof.max, side="right")) if prof.max is not None else 0
        score.details["mode"] = "exact"
    else:
        sketch_cuts = np.asarray(prof.sketch.cuts, dtype=np.float64)
        sketch_counts = bin_counts(cur, sketch_cuts)
        ks = ks_from_binned(prof.sketch.counts, sketch_counts)
        w1 = wasserstein_from_binned(sketch_cuts, prof.sketch.counts, sketch_counts)
        psi_value = psi(prof.bins.counts, bin_counts(cur, psi_cuts), epsilon=th.psi_epsilon)
        below = int(np.count_nonzero(cur < prof.min)) if prof.min is not None else 0
        above = int(np.count_nonzero(cur > prof.max)) if prof.max is not None else 0
        score.details["mode"] = "sketch"
    w1n = normalised(w1, std)
    score.details.update(
        ks_statistic=ks.statistic,
        ks_p_value=ks.p_value,
        psi=psi_value,
        wasserstein=w1,
        wasserstein_normalised=w1n,
        out_of_range_share=(below + above) / n_cur,
    )
    if method is DriftMethod.KS:
        score.statistic, score.p_value = ks.statistic, ks.p_value
        score.effect_met = ks.statistic >= th.ks_min_statistic or psi_value >= th.psi_moderate
    elif method is DriftMethod.PSI:
        score.statistic = psi_value
    else:
        score.statistic = w1n
    return score


def _score_categorical(
    ref: CategoricalReference, current: dict[str, int], method: DriftMethod, th: DriftThresholds
) -> _Score:
    prof = ref.profile
    score = _Score(feature=prof.name, method=method)
    n_ref, n_cur = prof.value_count, sum(current.values())
    score.details.update(n_reference=n_ref, n_current=n_cur)
    if min(n_ref, n_cur) < th.min_samples:
        return score
    cells = level_cells(ref, current)
    ref_arr, cur_arr = cells.reference, cells.current
    chi = chi2_homogeneity(*merge_sparse_levels(ref_arr, cur_arr))
    tvd = total_variation(ref_arr, cur_arr)
    psi_value = psi(ref_arr, cur_arr, epsilon=th.psi_epsilon)
    js = jensen_shannon(ref_arr, cur_arr)
    unseen = cells.unseen or {}
    score.unseen_share = None if cells.unseen is None else sum(unseen.values()) / n_cur
    score.details.update(
        chi2_statistic=chi.statistic,
        chi2_p_value=chi.p_value,
        chi2_dof=chi.dof,
        tvd=tvd,
        psi=psi_value,
        js=js,
        unseen_levels=list(unseen)[:MAX_LISTED_UNSEEN],
        mode=cells.mode,
    )
    if cells.unseen is None:
        score.details["note"] = LEGACY_PROFILE_NOTE.format(listed=len(prof.values))
    if cells.mode == "tail_sketch" and prof.tail_sketch is not None:
        score.details.update(
            tail_levels_pooled=cells.pooled, sketch_false_positive_rate=prof.tail_sketch.false_positive_rate
        )
    if method is DriftMethod.CHI2:
        score.statistic, score.p_value = chi.statistic, chi.p_value
        score.effect_met = (
            tvd >= th.chi2_min_tvd or psi_value >= th.psi_moderate or (score.unseen_share or 0.0) >= th.unseen_min_share
        )
    elif method is DriftMethod.JS:
        score.statistic = js
    else:
        score.statistic = psi_value
    return score


def _score_missing(ref: ColumnReference, n_missing: int, n_rows: int, th: DriftThresholds) -> _Score:
    prof = ref.profile
    score = _Score(feature=prof.name, method=DriftMethod.MISSING_RATE)
    score.details.update(n_reference=prof.row_count, n_current=n_rows)
    if min(prof.row_count, n_rows) < th.min_samples:
        return score
    res = missing_rate_test(prof.missing_count, prof.row_count, n_missing, n_rows)
    score.statistic, score.p_value = res.z, res.p_value
    score.effect_met = abs(res.change) >= th.missing_min_change
    score.details.update(reference_rate=res.reference_rate, current_rate=res.current_rate, change=res.change)
    return score


def _decide(scores: list[_Score], th: DriftThresholds) -> tuple[FeatureDrift, ...]:
    """Correct the family's p-values together, then give each score its verdict."""
    tested = [s for s in scores if s.sufficient and s.p_value is not None]
    adjusted = adjust_p_values([float(s.p_value or 0.0) for s in tested], th.correction)
    adjusted_by_name = {id(s): float(a) for s, a in zip(tested, adjusted, strict=True)}
    out: list[FeatureDrift] = []
    for s in scores:
        threshold = _threshold(s.method, th)
        if not s.sufficient:
            status = DriftStatus.INSUFFICIENT_DATA
        elif s.p_value is not None:
            p_adj = adjusted_by_name[id(s)]
            s.details["p_value_adjusted"] = p_adj
            status = DriftStatus.DRIFT if p_adj < th.alpha and s.effect_met else DriftStatus.NO_DRIFT
        else:
            status = _distance_status(s.method, float(s.statistic or 0.0), th)
        out.append(
            FeatureDrift(
                feature=s.feature,
                method=s.method,
                statistic=s.statistic,
                p_value=s.p_value,
                threshold=threshold,
                drifted=status is DriftStatus.DRIFT,
                status=status,
                unseen_share=s.unseen_share,
                details=s.details,
            )
        )
    return tuple(out)


def _distance_status(method: DriftMethod, value: float, th: DriftThresholds) -> DriftStatus:
    if method is DriftMethod.PSI:
        if value > th.psi_significant:
            return DriftStatus.DRIFT
        return DriftStatus.MODERATE if value >= th.psi_moderate else DriftStatus.NO_DRIFT
    return DriftStatus.DRIFT if value >= _threshold(method, th) else DriftStatus.NO_DRIFT


def _threshold(method: DriftMethod, th: DriftThresholds) -> float:
    if method.is_p_value_test:
        return th.alpha
    return {
        DriftMethod.PSI: th.psi_significant,
        DriftMethod.JS: th.js_threshold,
        DriftMethod.WASSERSTEIN: th.wasserstein_threshold,
    }[method]


def _dataset(
    features: tuple[FeatureDrift, ...],
    missing: tuple[FeatureDrift, ...],
    names: list[str],
    th: DriftThresholds,
    weights: Mapping[str, float] | None,
    skipped: tuple[str, ...],
) -> DatasetDrift:
    w = dict(weights or {})
    bad = {k: v for k, v in w.items() if v < 0}
    if bad:
        raise InvalidInput("feature weights must not be negative", weights=bad)
    drifted = tuple(n for n, f, m in zip(names, features, missing, strict=True) if f.drifted or m.drifted)
    tested = [
        n
        for n, f, m in zip(names, features, missing, strict=True)
        if f.status is not DriftStatus.INSUFFICIENT_DATA or m.status is not DriftStatus.INSUFFICIENT_DATA
    ]
    total = sum(w.get(n, 1.0) for n in tested)
    share = sum(w.get(n, 1.0) for n in drifted) / total if total > 0 else 0.0
    return DatasetDrift(
        features=features,
        missing=missing,
        drifted_features=drifted,
        share_drifted=share,
        dataset_drifted=bool(tested) and share >= th.dataset_share,
        thresholds=th,
        skipped=skipped,
    )


def _check_method(method: DriftMethod, allowed: tuple[DriftMethod, ...], what: str) -> None:
    if method not in allowed:
        raise InvalidInput(f"{what} must be one of {', '.join(m.value for m in allowed)}", method=str(method))
