"""Built-in step: explain a registered candidate after training (``explain_model``).

Runs ``modelyard.sdk.explain.record_explanation`` in the step's own run: the explanation's files
are the step run's artifacts and the version gets its ``modelyard.explain.summary`` tag, so the
model card of every version a pipeline registers shows which features drive it.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from modelyard.errors import InvalidInput
from modelyard.pipelines.steps import StepContext, step
from modelyard.sdk.explain import record_explanation


@step
def explain_model(
    version: dict[str, Any], data: pd.DataFrame, context: StepContext, feature: str | None = None
) -> dict[str, Any]:
    """Explain the version ``register`` returned on ``data``; returns the top features and where it is stored."""
    if "name" not in version or "version" not in version:
        raise InvalidInput("explain_model takes the output of the register step ({'name', 'version', ...})")
    uri = f"models:/{version['name']}/{int(version['version'])}"
    result = record_explanation(context.client, uri, data, run_id=context.run_id, feature=feature)
    summary = result.summary
    return {
        "model": uri,
        "method": summary.method.value,
        "exact": summary.exact,
        "rows": float(summary.rows),
        "top_feature": summary.importance[0][0] if summary.importance else "",
        "location": summary.location,
    }
