"""On-demand features: pandas expressions over request fields and fetched features.

The same function computes them for training rows (batch by batch) and for a served request, so
the formula cannot differ between the two. Expressions run with ``DataFrame.eval`` (arithmetic,
comparisons, boolean logic over column names; no calls or attribute access), never ``eval``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from modelyard.domain.features import OnDemandFeatureView, ValueType
from modelyard.errors import InvalidInput

PANDAS_DTYPES: dict[ValueType, str] = {
    ValueType.INT64: "Int64",
    ValueType.FLOAT64: "float64",
    ValueType.STRING: "string",
    ValueType.BOOL: "boolean",
    ValueType.TIMESTAMP: "datetime64[us]",
}


def compute(view: OnDemandFeatureView, frame: pd.DataFrame) -> dict[str, pd.Series]:
    """The features of ``view`` for every row of ``frame`` (which holds the fields they read)."""
    missing = [f.name for f in view.request_fields if f.name not in frame.columns]
    if missing:
        raise InvalidInput(f"on-demand view {view.name!r} needs request field(s) {', '.join(missing)}")
    out: dict[str, pd.Series] = {}
    scope = frame
    for feature in view.features:
        try:
            with np.errstate(all="ignore"):
                value = scope.eval(feature.expression, engine="python")
        except Exception as exc:  # pandas raises many kinds for a bad expression or missing name
            raise InvalidInput(
                f"on-demand feature {view.name}:{feature.name} = {feature.expression!r} failed: {exc}"
            ) from exc
        series = value if isinstance(value, pd.Series) else pd.Series(value, index=frame.index)
        if feature.dtype is ValueType.FLOAT64:
            series = pd.to_numeric(series, errors="coerce").astype("float64").replace([np.inf, -np.inf], np.nan)
        else:
            series = series.astype(PANDAS_DTYPES[feature.dtype])
        out[feature.name] = series
        if feature.name not in scope.columns:
            scope = scope.assign(**{feature.name: series})
    return out
