"""Attribution shift: how much each feature's share of the model's attention moved since the reference.

A feature's *share* is its part of the total |SHAP| over a set of rows: ``sum |phi_f| / sum_g sum
|phi_g|``. Input drift tests each column's distribution alone; the shares move also when the
columns keep their distributions but their combination changes (which values meet which), or
when a feature starts deciding more of the output. Vertex AI calls the same figure feature
attribution drift. ``attribution_shift(f)`` is ``|share now - share in the reference|``, between
0 and 1, so ``attribution_shift(income) > 0.1`` reads "income's share of the decisions moved by
more than 10 points".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from modelyard.errors import InvalidInput
from modelyard.explain.explainers import Attributions, Explainer
from modelyard.explain.global_explanation import model_inputs

DEFAULT_MAX_ROWS = 2_000


def attribution_shares(attributions: Attributions) -> dict[str, float]:
    """Each feature's share of the total |attribution| over the rows (shares add up to 1)."""
    totals = np.abs(attributions.values).sum(axis=0)
    whole = float(totals.sum())
    if whole == 0.0:
        return {f: 0.0 for f in attributions.features}
    return {f: float(t / whole) for f, t in zip(attributions.features, totals, strict=True)}


def shares_of_sums(sums: dict[str, float]) -> dict[str, float]:
    """``attribution_shares`` from each feature's sum of |attribution| over some rows."""
    whole = float(sum(sums.values()))
    return {f: (0.0 if whole == 0.0 else float(v / whole)) for f, v in sums.items()}


@dataclass(frozen=True, kw_only=True)
class AttributionBaseline:
    """An explainer and the shares it gave on the reference rows, computed once per monitor run."""

    explainer: Explainer
    shares: dict[str, float]
    rows: int

    def compare(self, frame: pd.DataFrame, *, max_rows: int = DEFAULT_MAX_ROWS, seed: int = 0) -> dict[str, Any]:
        """The shares of ``frame`` (a uniform sample of ``max_rows`` at most) against the reference's.

        Returns ``{"current": {f: share}, "reference": {...}, "shift": {f: |difference|}, "rows": n}``.
        """
        current = shares_of(self.explainer, frame, max_rows=max_rows, seed=seed)
        return self.compare_shares(current, min(len(frame), max_rows))

    def compare_shares(self, current: dict[str, float], rows: int) -> dict[str, Any]:
        """``compare`` for shares computed elsewhere (from attributions the server logged)."""
        shift = {f: abs(current.get(f, 0.0) - self.shares.get(f, 0.0)) for f in self.shares}
        return {"current": current, "reference": dict(self.shares), "shift": shift, "rows": rows}


def shares_of(
    explainer: Explainer, frame: pd.DataFrame, *, max_rows: int = DEFAULT_MAX_ROWS, seed: int = 0
) -> dict[str, float]:
    """``attribution_shares`` of up to ``max_rows`` rows of ``frame`` (a uniform sample)."""
    inputs = model_inputs(explainer.predictor, frame)
    if inputs.empty:
        raise InvalidInput("there are no rows to compute attribution shares on")
    if len(inputs) > max_rows:
        inputs = inputs.sample(n=max_rows, random_state=seed)
    return attribution_shares(explainer.explain(inputs))


def baseline(
    explainer: Explainer, reference: pd.DataFrame, *, max_rows: int = DEFAULT_MAX_ROWS, seed: int = 0
) -> AttributionBaseline:
    """The reference shares of ``explainer`` on (a sample of) the reference rows."""
    return AttributionBaseline(
        explainer=explainer,
        shares=shares_of(explainer, reference, max_rows=max_rows, seed=seed),
        rows=min(len(reference), max_rows),
    )
