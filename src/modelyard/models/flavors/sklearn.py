"""scikit-learn estimators and pipelines, saved as a pickle (``model.pkl``).

A plain pickle (protocol 5, which writes NumPy arrays without an extra copy) handles any estimator,
including pipelines with custom transformers, and is what MLflow's ``sklearn`` flavor reads with
``serialization_format: pickle``, so ``mlflow.sklearn.load_model`` opens modelyard models too.
Folders saved before used joblib (``model.joblib``); they still load, with joblib. Either way the
file is a pickle: see ``_pickling`` for the trust caveat. skops would load safely, but only for
types it trusts by default; supporting user transformers would need a trusted-types option on
loading, which this format does not have yet.
"""

from __future__ import annotations

import copy
import pickle
import shutil
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

MODEL_FILE = "model.pkl"
"""The estimator's pickle inside the flavor's folder."""
_LEGACY_FILE = "model.joblib"


class SklearnFlavor(Flavor):
    """Any fitted scikit-learn estimator with ``predict``, ``Pipeline`` included."""

    name = "sklearn"
    libraries = ("scikit-learn",)
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
        with (path / MODEL_FILE).open("wb") as handle:
            dump_or_refuse(lambda: pickle.dump(obj, handle, protocol=5), obj)

    def load(self, path: Path) -> LoadedModel:
        require_module("sklearn", extra=self.extra)
        file = path / MODEL_FILE
        if not file.is_file() and (path / _LEGACY_FILE).is_file():
            joblib = require_module("joblib", extra=self.extra)
            return _SklearnModel(load_or_explain(lambda: joblib.load(path / _LEGACY_FILE), path / _LEGACY_FILE))
        with file.open("rb") as handle:
            return _SklearnModel(load_or_explain(lambda: pickle.load(handle), file))


def adopt_pickle(source: Path, path: Path) -> None:
    """Store the pickled estimator file ``source`` (MLflow's ``pickle`` or ``cloudpickle`` format:
    both are read by ``pickle.load``) as this flavor's file in ``path``, byte for byte: importing
    a model never unpickles it, loading it does (under the trust rule of any pickled model)."""
    shutil.copyfile(source, path / MODEL_FILE)


# Estimators that use their fitted feature names only to check a DataFrame's columns (the fitted
# state is positional): subpackages, and ensembles of trees fitted on arrays by their own ``fit``.
_NAME_BLIND_PACKAGES = frozenset(
    {"linear_model", "tree", "svm", "naive_bayes", "neighbors", "discriminant_analysis", "neural_network"}
)
_NAME_BLIND_ENSEMBLES = frozenset(
    {
        "RandomForestClassifier",
        "RandomForestRegressor",
        "ExtraTreesClassifier",
        "ExtraTreesRegressor",
        "GradientBoostingClassifier",
        "GradientBoostingRegressor",
    }
)


def array_twin(estimator: Any) -> tuple[Any, tuple[str, ...]] | None:
    """A shallow copy of ``estimator`` without ``feature_names_in_`` and the names it had, or ``None``.

    The pandas tax: scikit-learn spends most of a one-row predict checking a DataFrame's column
    names and converting it, work modelyard already did (the signature puts the columns in
    training order). For an estimator whose fitted state is positional (a linear model, a tree, a
    forest: the names serve only that check), the copy takes the same float array scikit-learn
    would have built from the frame, so predictions are identical, without the warning an array
    given to a named estimator raises. Pipelines, column transformers and other estimators that
    may select columns by name get ``None`` and keep receiving the DataFrame.
    """
    names = getattr(estimator, "feature_names_in_", None)
    if names is None:
        return None
    module = type(estimator).__module__.split(".")
    if module[0] != "sklearn" or len(module) < 2:
        return None
    blind = module[1] in _NAME_BLIND_PACKAGES or (
        module[1] == "ensemble" and type(estimator).__name__ in _NAME_BLIND_ENSEMBLES
    )
    if not blind:
        return None
    twin = copy.copy(estimator)  # shallow: the fitted arrays are shared, not copied
    del twin.feature_names_in_
    return twin, tuple(str(name) for name in names)


class _SklearnModel(LoadedModel):
    def __init__(self, estimator: Any) -> None:
        self._estimator = estimator
        twin = array_twin(estimator)
        self._twin: Any = None if twin is None else twin[0]
        self._names: tuple[str, ...] = () if twin is None else twin[1]

    @property
    def native(self) -> object:
        return self._estimator

    def _call(self, df: pd.DataFrame) -> tuple[Any, pd.DataFrame | np.ndarray]:
        """The estimator to call and its input: the array twin with the frame's values when the
        frame has the fitted names in order and one plain numeric dtype, else today's path."""
        twin = self._twin
        if twin is not None and tuple(df.columns) == self._names:
            values = df.to_numpy()
            if values.dtype.kind in "fiu":
                return twin, values
        return self._estimator, feature_input(self._estimator, df)

    def predict(self, df: pd.DataFrame) -> PredictOutput:
        estimator, data = self._call(df)
        result: PredictOutput = estimator.predict(data)
        return result

    def takes_array(self, names: tuple[str, ...]) -> bool:
        # fitted without names: ``feature_input`` hands it the frame's array today; the twin: only
        # when the signature's columns are the fitted names in order (what ``_call`` checks per frame)
        if self._twin is not None:
            return names == self._names
        return not hasattr(self._estimator, "feature_names_in_")

    def _array_estimator(self) -> Any:
        return self._estimator if self._twin is None else self._twin

    def predict_array(self, values: np.ndarray, names: tuple[str, ...]) -> PredictOutput:
        result: PredictOutput = self._array_estimator().predict(values)
        return result

    def predict_proba_array(self, values: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
        result: np.ndarray = self._array_estimator().predict_proba(values)
        return result

    @property
    def has_predict_proba(self) -> bool:
        # hasattr, not getattr on the class: scikit-learn hides predict_proba with available_if
        # (an SVC without probability=True, a pipeline ending in a regressor).
        return hasattr(self._estimator, "predict_proba")

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray:
        estimator, data = self._call(df)
        result: np.ndarray = estimator.predict_proba(data)
        return result
