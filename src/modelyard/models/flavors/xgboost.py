"""XGBoost models (the scikit-learn wrappers and ``Booster``), saved in XGBoost's native JSON.

The native format is data, not code, and is readable by later XGBoost versions, unlike a pickle.
The wrapper class name goes into ``flavor.json`` so ``XGBClassifier`` comes back as one (with its
classes and ``predict_proba``) rather than as a bare booster.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from modelyard.errors import InvalidInput
from modelyard.models.flavors.base import (
    Flavor,
    LoadedModel,
    PredictOutput,
    defined_in,
    feature_input,
    read_meta,
    require_module,
    write_meta,
)

MODEL_FILE = "model.json"


class XGBoostFlavor(Flavor):
    """``xgboost.XGBModel`` subclasses shipped by XGBoost, and ``xgboost.Booster``."""

    name = "xgboost"
    libraries = ("xgboost",)
    extra = "xgboost"

    def detect(self, obj: object) -> bool:
        if not defined_in(obj, "xgboost"):
            return False
        xgb = require_module("xgboost", extra=self.extra)
        return isinstance(obj, xgb.XGBModel | xgb.Booster)

    def save(self, obj: object, path: Path) -> None:
        xgb = require_module("xgboost", extra=self.extra)
        class_name = type(obj).__name__
        if getattr(xgb, class_name, None) is not type(obj):
            raise InvalidInput(
                f"{type(obj).__qualname__} subclasses an XGBoost class; the native format "
                "restores only XGBoost's own classes: save it with flavor='pyfunc'"
            )
        if isinstance(obj, xgb.XGBModel) and not obj.__sklearn_is_fitted__():
            raise InvalidInput(f"the {class_name} is not fitted; fit it before saving")
        obj.save_model(path / MODEL_FILE)  # type: ignore[attr-defined]
        write_meta(path, {"class": class_name})

    def load(self, path: Path) -> LoadedModel:
        xgb = require_module("xgboost", extra=self.extra)
        cls = _model_class(xgb, str(read_meta(path).get("class")))
        if cls is xgb.Booster:
            return _BoosterModel(xgb, xgb.Booster(model_file=str(path / MODEL_FILE)))
        model = cls()
        model.load_model(path / MODEL_FILE)
        return _WrapperModel(model)


def _model_class(xgb: ModuleType, class_name: str) -> Any:
    cls = getattr(xgb, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, xgb.XGBModel | xgb.Booster)):
        raise InvalidInput(f"flavor.json names {class_name!r}, which is not an XGBoost model class")
    return cls


class _WrapperModel(LoadedModel):
    def __init__(self, model: Any) -> None:
        self._model = model

    @property
    def native(self) -> object:
        return self._model

    def predict(self, df: pd.DataFrame) -> PredictOutput:
        result: PredictOutput = self._model.predict(feature_input(self._model, df))
        return result

    @property
    def has_predict_proba(self) -> bool:
        return hasattr(self._model, "predict_proba")

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray:
        result: np.ndarray = self._model.predict_proba(feature_input(self._model, df))
        return result

    def takes_array(self, names: tuple[str, ...]) -> bool:
        return not hasattr(self._model, "feature_names_in_")  # fitted on an array: it gets one today

    def predict_array(self, values: np.ndarray, names: tuple[str, ...]) -> PredictOutput:
        result: PredictOutput = self._model.predict(values)
        return result

    def predict_proba_array(self, values: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
        result: np.ndarray = self._model.predict_proba(values)
        return result


class _BoosterModel(LoadedModel):
    def __init__(self, xgb: ModuleType, booster: Any) -> None:
        self._xgb = xgb
        self._booster = booster

    @property
    def native(self) -> object:
        return self._booster

    def predict(self, df: pd.DataFrame) -> PredictOutput:
        data = df if self._booster.feature_names else df.to_numpy()
        result: PredictOutput = self._booster.predict(self._xgb.DMatrix(data))
        return result

    def takes_array(self, names: tuple[str, ...]) -> bool:
        # a booster trained on named columns checks them in DMatrix: the names modelyard checked
        # (the signature's, equal to the booster's) are given with the array
        fitted = self._booster.feature_names
        return fitted is None or tuple(fitted) == names

    def predict_array(self, values: np.ndarray, names: tuple[str, ...]) -> PredictOutput:
        booster = self._booster
        if booster.feature_names:
            matrix = self._xgb.DMatrix(values, feature_names=booster.feature_names, feature_types=booster.feature_types)
        else:
            matrix = self._xgb.DMatrix(values)
        result: PredictOutput = booster.predict(matrix)
        return result
