"""The built-in ``historical_features`` step: point-in-time training data inside a pipeline.

The step asks the feature store (``modelyard.features``) for the features of its entity rows,
logs the answer as a version of ``dataset`` that is an input of the step's own run, with lineage
from every feature view used (and so from their sources), and passes the frame on. Sources can
change under unchanged parameters, so the step is never answered from the cache.
"""

from __future__ import annotations

import pandas as pd

from modelyard.errors import InvalidInput
from modelyard.pipelines.steps import StepContext, step
from modelyard.sdk.features import open_feature_store


@step(cache=False)
def historical_features(
    entity_rows: pd.DataFrame,
    features: tuple[str, ...],
    context: StepContext,
    dataset: str = "training-features",
    timestamp_column: str = "event_timestamp",
) -> pd.DataFrame:
    """Built-in step: ``entity_rows`` with the point-in-time correct values of ``features``."""
    if isinstance(features, str) or not features:
        raise InvalidInput("historical_features needs a tuple of feature references ('view:feature' or 'view')")
    store = open_feature_store(context.client.backend)
    result = store.get_historical_features(
        entity_rows, list(features), timestamp_column=timestamp_column, log_as=dataset, run_id=context.run_id
    )
    version = result.dataset
    if version is not None:
        context.client.log_metrics(context.run_id, {"training_rows": float(version.row_count)})
    return result.to_pandas()
