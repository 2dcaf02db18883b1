"""What tests that drive the mlflow library share: the warnings mlflow itself raises.

mlflow warns on import and while saving models (its type-hint inference, its input-example code
under pandas 3, its deprecated registry stages); those are mlflow's, not modelyard's, and the
suite turns every other warning into an error.
"""

from __future__ import annotations

import pytest

MLFLOW_WARNINGS = (
    "ignore::UserWarning:mlflow.*",
    "ignore::FutureWarning:mlflow.*",
    "ignore:Operation with range is deprecated",
    "ignore:Starting with pandas version 4.0 all arguments",
    "ignore:.*Model registry stages will be removed:FutureWarning",
)

MLFLOW_MARKS = [pytest.mark.filterwarnings(spec) for spec in MLFLOW_WARNINGS]
