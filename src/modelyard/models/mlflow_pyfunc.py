"""The ``loader_module`` MLflow calls for a modelyard model's ``python_function`` flavor.

``mlflow.pyfunc.load_model`` imports this module and calls ``_load_pyfunc(path)`` with the model
directory (the ``MLmodel`` written by ``modelyard.models.mlflow_write`` names no ``data``).
Loading goes through ``load_model_dir``, so the digest is checked and the modelyard signature
enforced as everywhere else; MLflow has already enforced its copy of that signature.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from modelyard.models.flavors.base import PredictOutput
from modelyard.models.format import load_model_dir
from modelyard.models.predictor import Predictor


class ModelyardPyfunc:
    """What ``PyFuncModel`` calls: ``predict(data, params=None)`` on a modelyard ``Predictor``."""

    def __init__(self, predictor: Predictor) -> None:
        self.predictor = predictor

    def predict(self, data: Any, params: Mapping[str, Any] | None = None) -> PredictOutput:
        """Predictions for a DataFrame, a 2-D array (columns ``"0"``…) or a dict of columns."""
        if isinstance(data, pd.DataFrame):
            frame = data
        elif isinstance(data, np.ndarray):
            frame = pd.DataFrame(data.reshape(-1, 1) if data.ndim == 1 else data)
            frame.columns = [str(label) for label in frame.columns]
        else:
            frame = pd.DataFrame(data)
        return self.predictor.predict(frame)

    def get_raw_model(self) -> Predictor:
        return self.predictor


def _load_pyfunc(path: str) -> ModelyardPyfunc:
    """Called by ``mlflow.pyfunc.load_model`` with the model directory."""
    return ModelyardPyfunc(load_model_dir(Path(path)))
