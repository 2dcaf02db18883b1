"""What modelyard reads of MLflow's model format: the flavor an ``MLmodel`` file names.

MLflow models (uploaded by the mlflow client, or imported from an MLflow store) are recorded as
logged models with the flavor ``mlflow.<flavor>`` (``mlflow.sklearn``), naming the library that
loads them; ``python_function`` is every MLflow model's generic loader, so a more specific
flavor wins when the file lists one. Such a model loads through ``load_mlflow_dir``, with mlflow's
own loader, after its files are checked against the digest recorded for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from modelyard.domain.models import ModelManifest
from modelyard.errors import BackendUnavailable, Conflict
from modelyard.models.digest import directory_digest
from modelyard.models.flavors.base import LoadedModel, PredictOutput
from modelyard.models.predictor import Predictor

MLMODEL_FILE = "MLmodel"
MLFLOW_FLAVOR_PREFIX = "mlflow."
_GENERIC = "python_function"


def mlflow_flavor(mlmodel_text: bytes | str | None) -> str:
    """``mlflow.<flavor>`` from an ``MLmodel`` file's text (``mlflow.pyfunc`` when unreadable)."""
    flavors: object = None
    if mlmodel_text:
        try:
            loaded = yaml.safe_load(mlmodel_text)
        except yaml.YAMLError:
            loaded = None
        flavors = loaded.get("flavors") if isinstance(loaded, dict) else None
    named = [str(f) for f in flavors if f != _GENERIC] if isinstance(flavors, dict) else []
    return f"{MLFLOW_FLAVOR_PREFIX}{named[0] if named else 'pyfunc'}"[:64]


class _MlflowModel(LoadedModel):
    """An MLflow model directory, called through mlflow's own loader (``mlflow.pyfunc``); a
    scikit-learn classifier also answers ``predict_proba`` through ``mlflow.sklearn``."""

    def __init__(self, root: Path, flavor: str) -> None:
        try:
            import mlflow.pyfunc
        except ImportError:
            raise BackendUnavailable(
                f"the model at {str(root)!r} was saved by MLflow; loading it needs: pip install 'modelyard[mlflow]'"
            ) from None
        self._pyfunc = mlflow.pyfunc.load_model(str(root))
        self._proba: Any = None
        if flavor == f"{MLFLOW_FLAVOR_PREFIX}sklearn":
            import mlflow.sklearn

            estimator = mlflow.sklearn.load_model(str(root))
            if callable(getattr(estimator, "predict_proba", None)):
                self._proba = estimator

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


def is_mlflow_dir(root: Path) -> bool:
    """A model folder MLflow saved (an ``MLmodel`` file, no modelyard manifest)."""
    return (root / MLMODEL_FILE).is_file()


def load_mlflow_dir(root: Path, *, expected_digest: str | None = None) -> Predictor:
    """Load a model MLflow saved, after checking its files against ``expected_digest`` (the
    digest recorded when it was logged: every file of the folder). Inputs pass unchecked, as
    for any model saved without a signature: MLflow's own loader enforces MLflow's."""
    digest = directory_digest(root)
    if expected_digest is not None and digest != expected_digest:
        raise Conflict(
            f"the files of the MLflow model at {str(root)!r} do not match the digest recorded when it was "
            "logged: they were modified, added or removed; refusing to load them",
            expected=expected_digest,
            actual=digest,
        )
    text = (root / MLMODEL_FILE).read_bytes()
    loaded = yaml.safe_load(text)
    python = ""
    if isinstance(loaded, dict):
        python = str(((loaded.get("flavors") or {}).get("python_function") or {}).get("python_version") or "")
    flavor = mlflow_flavor(text)
    manifest = ModelManifest(flavor=flavor, digest=digest, created_time=0, python_version=python)
    return Predictor(model=_MlflowModel(root, flavor), manifest=manifest)
