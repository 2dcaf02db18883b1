"""LightGBM models (the scikit-learn wrappers and ``Booster``), saved in LightGBM's text format.

The text format is data, not code. It holds the booster only, so for a classifier the classes go
into ``flavor.json`` and predictions are rebuilt the way ``LGBMClassifier`` builds them: the
booster's probabilities (one column for a binary model, widened to two), then the class with the
highest probability.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from modelyard.errors import InvalidInput
from modelyard.models.flavors.base import (
    Flavor,
    LoadedModel,
    PredictOutput,
    defined_in,
    read_meta,
    require_module,
    write_meta,
)

MODEL_FILE = "model.txt"


class LightGBMFlavor(Flavor):
    """``LGBMClassifier``, ``LGBMRegressor``, ``LGBMRanker`` (and subclasses) and ``lightgbm.Booster``."""

    name = "lightgbm"
    libraries = ("lightgbm",)
    extra = "lightgbm"

    def detect(self, obj: object) -> bool:
        if not defined_in(obj, "lightgbm"):
            return False
        lgb = require_module("lightgbm", extra=self.extra)
        return isinstance(obj, lgb.LGBMModel | lgb.Booster)

    def save(self, obj: object, path: Path) -> None:
        lgb = require_module("lightgbm", extra=self.extra)
        meta: dict[str, Any] = {"kind": "booster"}
        booster = obj
        if isinstance(obj, lgb.LGBMModel):
            if not obj.__sklearn_is_fitted__():
                raise InvalidInput(f"the {type(obj).__name__} is not fitted; fit it before saving")
            if callable(obj.objective):
                raise InvalidInput(
                    "a LightGBM model with a Python objective function cannot be stored in the "
                    "native format (it returns raw scores): save it with flavor='pyfunc'"
                )
            booster = obj.booster_
            meta["kind"] = "classifier" if isinstance(obj, lgb.LGBMClassifier) else "regressor"
            if meta["kind"] == "classifier":
                meta["classes"] = obj.classes_.tolist()
                meta["classes_dtype"] = obj.classes_.dtype.str
        booster.save_model(str(path / MODEL_FILE))  # type: ignore[attr-defined]
        write_meta(path, meta)

    def load(self, path: Path) -> LoadedModel:
        lgb = require_module("lightgbm", extra=self.extra)
        meta = read_meta(path)
        booster = lgb.Booster(model_file=str(path / MODEL_FILE))
        if meta.get("kind") == "classifier":
            classes = np.asarray(meta["classes"], dtype=np.dtype(meta["classes_dtype"]))
            return _ClassifierModel(booster, classes)
        return _BoosterModel(booster)


class _BoosterModel(LoadedModel):
    def __init__(self, booster: Any) -> None:
        self._booster = booster

    @property
    def native(self) -> object:
        return self._booster

    def predict(self, df: pd.DataFrame) -> PredictOutput:
        result: PredictOutput = self._booster.predict(df)
        return result

    def takes_array(self, names: tuple[str, ...]) -> bool:
        return _positional(self._booster)

    def predict_array(self, values: np.ndarray, names: tuple[str, ...]) -> PredictOutput:
        result: PredictOutput = self._booster.predict(values)
        return result


class _ClassifierModel(LoadedModel):
    def __init__(self, booster: Any, classes: np.ndarray) -> None:
        self._booster = booster
        self._classes = classes

    @property
    def native(self) -> object:
        return self._booster

    def predict(self, df: pd.DataFrame) -> PredictOutput:
        result: PredictOutput = self._classes[np.argmax(self.predict_proba(df), axis=1)]
        return result

    @property
    def has_predict_proba(self) -> bool:
        return True

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray:
        return _probabilities(self._booster.predict(df))

    def takes_array(self, names: tuple[str, ...]) -> bool:
        return _positional(self._booster)

    def predict_array(self, values: np.ndarray, names: tuple[str, ...]) -> PredictOutput:
        result: PredictOutput = self._classes[np.argmax(self.predict_proba_array(values, names), axis=1)]
        return result

    def predict_proba_array(self, values: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
        return _probabilities(self._booster.predict(values))


def _probabilities(scores: np.ndarray) -> np.ndarray:
    if scores.ndim == 1:
        return np.vstack((1.0 - scores, scores)).transpose()
    return scores


def _positional(booster: Any) -> bool:
    """Whether the booster reads a frame by position (LightGBM converts a frame of numbers to the
    same float array and does not check its names); pandas categoricals need the frame."""
    return not getattr(booster, "pandas_categorical", None)
