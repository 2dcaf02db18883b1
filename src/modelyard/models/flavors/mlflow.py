"""An MLflow model kept as MLflow saved it, called through mlflow's own loader.

The flavor of MLflow models whose library modelyard has no flavor for (a ``python_function``
model, PyTorch, transformers, …): the whole MLflow folder is copied under ``model/`` and loaded
with ``mlflow.pyfunc.load_model``. Models of the libraries modelyard supports (scikit-learn,
XGBoost, LightGBM, ONNX) are converted to their modelyard flavor instead
(``modelyard.models.mlflow_convert``). MLflow's loader unpickles what the folder holds: the trust
rule of every pickled model applies.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from modelyard.errors import InvalidInput
from modelyard.models.flavors.base import Flavor, LoadedModel, PredictOutput, require_module

MLMODEL_FILE = "MLmodel"
SKLEARN_FLAVOR = "sklearn"
_MODELYARD_MANIFEST = "modelyard.json"  # modelyard.models.format.MANIFEST_NAME (a layer above)


class MlflowFlavor(Flavor):
    """The path of a folder holding an ``MLmodel`` file (a model saved by MLflow, not a modelyard
    directory, which has one too)."""

    name = "mlflow"
    libraries = ("mlflow",)
    extra = "mlflow"

    def detect(self, obj: object) -> bool:
        if not isinstance(obj, str | Path):
            return False
        return (Path(obj) / MLMODEL_FILE).is_file() and not (Path(obj) / _MODELYARD_MANIFEST).is_file()

    def save(self, obj: object, path: Path) -> None:
        if not self.detect(obj):
            raise InvalidInput(f"the mlflow flavor takes the path of an MLflow model folder, got {obj!r}")
        shutil.copytree(Path(str(obj)), path, dirs_exist_ok=True)

    def load(self, path: Path) -> LoadedModel:
        return MlflowModel(path)


class MlflowModel(LoadedModel):
    """An MLflow model folder behind ``mlflow.pyfunc``; a scikit-learn classifier also answers
    ``predict_proba`` through ``mlflow.sklearn``."""

    def __init__(self, root: Path) -> None:
        require_module("mlflow", extra=MlflowFlavor.extra)
        import mlflow.models
        import mlflow.pyfunc

        self._pyfunc = mlflow.pyfunc.load_model(str(root))
        self._proba: Any = None
        if SKLEARN_FLAVOR in mlflow.models.Model.load(str(root)).flavors:
            import mlflow.sklearn

            estimator = mlflow.sklearn.load_model(str(root))
            if callable(getattr(estimator, "predict_proba", None)):
                self._proba = estimator

    @property
    def native(self) -> object:
        return self._proba if self._proba is not None else self._pyfunc

    def predict(self, df: pd.DataFrame) -> PredictOutput:
        result = self._pyfunc.predict(df)
        return result if isinstance(result, pd.DataFrame) else np.asarray(result)

    @property
    def has_predict_proba(self) -> bool:
        return self._proba is not None

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray:
        if self._proba is None:
            return super().predict_proba(df)
        return np.asarray(self._proba.predict_proba(df))
