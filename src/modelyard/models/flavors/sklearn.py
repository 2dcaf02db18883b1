"""scikit-learn estimators and pipelines, saved with joblib.

joblib is scikit-learn's own persistence format and handles any estimator, including pipelines
with custom transformers, but it is a pickle: see ``_pickling`` for the trust caveat. skops would
load safely, but only for types it trusts by default; supporting user transformers would need a
trusted-types option on loading, which this format does not have yet.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from modelyard.errors import InvalidInput
from modelyard.models.flavors._pickling import dump_or_refuse, load_or_explain
from modelyard.models.flavors.base import (
    Flavor,
    LoadedModel,
    PredictOutput,
    defined_in,
    feature_input,
    require_module,
)

_FILE = "model.joblib"


class SklearnFlavor(Flavor):
    """Any fitted scikit-learn estimator with ``predict``, ``Pipeline`` included."""

    name = "sklearn"
    libraries = ("scikit-learn", "joblib")
    extra = "sklearn"

    def detect(self, obj: object) -> bool:
        return defined_in(obj, "sklearn") and callable(getattr(obj, "predict", None))

    def save(self, obj: object, path: Path) -> None:
        require_module("sklearn", extra=self.extra)
        validation = require_module("sklearn.utils.validation", extra=self.extra)
        exceptions = require_module("sklearn.exceptions", extra=self.extra)
        try:
            validation.check_is_fitted(obj)
        except exceptions.NotFittedError as exc:
            raise InvalidInput(f"the {type(obj).__name__} is not fitted; fit it before saving") from exc
        joblib = require_module("joblib", extra=self.extra)
        dump_or_refuse(lambda: joblib.dump(obj, path / _FILE), obj)

    def load(self, path: Path) -> LoadedModel:
        joblib = require_module("joblib", extra=self.extra)
        require_module("sklearn", extra=self.extra)
        return _SklearnModel(load_or_explain(lambda: joblib.load(path / _FILE), path / _FILE))


class _SklearnModel(LoadedModel):
    def __init__(self, estimator: Any) -> None:
        self._estimator = estimator

    @property
    def native(self) -> object:
        return self._estimator

    def predict(self, df: pd.DataFrame) -> PredictOutput:
        result: PredictOutput = self._estimator.predict(feature_input(self._estimator, df))
        return result

    @property
    def has_predict_proba(self) -> bool:
        # hasattr, not getattr on the class: scikit-learn hides predict_proba with available_if
        # (an SVC without probability=True, a pipeline ending in a regressor).
        return hasattr(self._estimator, "predict_proba")

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray:
        result: np.ndarray = self._estimator.predict_proba(feature_input(self._estimator, df))
        return result
