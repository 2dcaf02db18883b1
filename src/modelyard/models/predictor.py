"""``Predictor``: the one type a loaded model is, whatever library made it.

Serving, batch inference and users' notebooks all call the same two methods; the signature is
enforced before the model runs, and anything the model itself raises becomes ``UserCodeError``
(the original kept as ``__cause__``) so the edges can tell "your request is wrong" (400) from
"your model failed" (500).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from modelyard.domain.models import ModelManifest, ModelSignature
from modelyard.errors import InvalidInput, ModelyardError, UserCodeError
from modelyard.models.examples import read_input_example
from modelyard.models.flavors.base import LoadedModel, PredictOutput
from modelyard.models.signature import conforming_array, enforce_signature


class Predictor:
    """A loaded model with its manifest; made by ``load_model_dir``."""

    def __init__(self, *, model: LoadedModel, manifest: ModelManifest, path: Path | None = None) -> None:
        self._model = model
        self._manifest = manifest
        self._path = path
        self._takes_array: bool | None = None  # asked of the model once, on the first array

    def input_example(self) -> pd.DataFrame | None:
        """The input example saved with the model, or ``None`` (no example, or not loaded from a folder).

        Read on each call (it is small): explainers use it as baseline rows when given no data.
        """
        if self._path is None or self._manifest.input_example_path is None:
            return None
        return read_input_example(self._path / self._manifest.input_example_path)

    @property
    def manifest(self) -> ModelManifest:
        return self._manifest

    @property
    def signature(self) -> ModelSignature | None:
        """The input contract; ``None`` when the model was saved without one (inputs unchecked)."""
        return self._manifest.signature

    @property
    def flavor(self) -> str:
        return self._manifest.flavor

    @property
    def has_predict_proba(self) -> bool:
        return self._model.has_predict_proba

    @property
    def native(self) -> object | None:
        """The library's model object behind this predictor (see ``LoadedModel.native``)."""
        return self._model.native

    def predict(self, df: pd.DataFrame) -> PredictOutput:
        """Predictions for each row of ``df``: an array, or a DataFrame if the model returns one.

        ``InvalidInput`` when ``df`` breaks the signature, ``UserCodeError`` when the model raises.
        """
        frame = self._prepare(df)
        with _user_code(self.flavor, "predict"):
            result = self._model.predict(frame)
        return _as_output(result, self.flavor)

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray:
        """Class probabilities for each row; ``InvalidInput`` if the model has none (a regressor)."""
        if not self._model.has_predict_proba:
            raise InvalidInput(
                f"this {self.flavor} model has no predict_proba (is it a classifier?)", flavor=self.flavor
            )
        frame = self._prepare(df)
        with _user_code(self.flavor, "predict_proba"):
            result = self._model.predict_proba(frame)
        return np.asarray(result)

    def predict_array(self, values: np.ndarray, columns: tuple[str, ...]) -> PredictOutput | None:
        """``predict`` for the rows ``values`` (2-D floats, columns named ``columns``) without a
        DataFrame, or ``None`` when this path cannot answer exactly as ``predict`` would.

        ``None`` when the model takes DataFrames (``LoadedModel.takes_array``), has no signature,
        or the array does not already conform to it (``signature.conforming_array``: another
        column set or order, a missing value...): the caller then builds the frame and calls
        ``predict``, whose checks refuse or conform it with the usual message. Otherwise the same
        predictions ``predict`` gives on the frame of these values; ``UserCodeError`` when the model
        raises.
        """
        checked = self._array_input(values, columns)
        if checked is None:
            return None
        with _user_code(self.flavor, "predict"):
            result = self._model.predict_array(checked, columns)
        return _as_output(result, self.flavor)

    def predict_proba_array(self, values: np.ndarray, columns: tuple[str, ...]) -> np.ndarray | None:
        """``predict_proba`` as ``predict_array`` is to ``predict`` (``None``: call ``predict_proba``)."""
        if not self._model.has_predict_proba:
            return None
        checked = self._array_input(values, columns)
        if checked is None:
            return None
        with _user_code(self.flavor, "predict_proba"):
            result = self._model.predict_proba_array(checked, columns)
        return np.asarray(result)

    def _array_input(self, values: np.ndarray, columns: tuple[str, ...]) -> np.ndarray | None:
        signature = self._manifest.signature
        if signature is None:
            return None
        if self._takes_array is None:
            self._takes_array = self._model.takes_array(signature.input_names)
        if not self._takes_array:
            return None
        return conforming_array(values, columns, signature)

    def _prepare(self, df: pd.DataFrame) -> pd.DataFrame:
        if not isinstance(df, pd.DataFrame):
            raise InvalidInput(f"model input must be a pandas DataFrame, got {type(df).__name__}")
        signature = self._manifest.signature
        return df if signature is None else enforce_signature(df, signature)

    def __repr__(self) -> str:
        enforced = "enforced" if self._manifest.signature_enforced else "none"
        return f"<Predictor flavor={self.flavor!r} signature={enforced} digest={self._manifest.digest[:19]}>"


@contextmanager
def _user_code(flavor: str, method: str) -> Iterator[None]:
    """The boundary around the user's model: its exceptions become ``UserCodeError``."""
    try:
        yield
    except ModelyardError:
        raise
    except Exception as exc:
        raise UserCodeError(
            f"the {flavor} model raised in {method}: {type(exc).__name__}: {exc}",
            flavor=flavor,
            method=method,
        ) from exc


def _as_output(result: object, flavor: str) -> PredictOutput:
    if isinstance(result, np.ndarray | pd.DataFrame):
        return result
    if isinstance(result, pd.Series):
        return result.to_numpy()
    if isinstance(result, list | tuple):
        return np.asarray(result)
    raise UserCodeError(
        f"the {flavor} model's predict returned a {type(result).__name__}; expected an array, "
        "a DataFrame, a Series or a list",
        flavor=flavor,
    )
