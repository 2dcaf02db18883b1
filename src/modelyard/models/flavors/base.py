"""What a flavor is: the code that saves and loads one kind of model object.

A flavor owns the files under a model directory's ``model/`` folder and nothing else; the model
format (``modelyard.models.format``) owns the manifest, the example, the requirements and the
digest. Loading returns a ``LoadedModel``: the flavor's object behind the one calling convention
``Predictor`` uses (a DataFrame in, an array or DataFrame out), so serving never needs to know
which library made the model.

Flavor libraries are optional dependencies and are imported only inside the flavor, through
``require_module``, so ``import modelyard`` stays light and a missing library is reported as
``BackendUnavailable`` naming the pip extra that installs it.
"""

from __future__ import annotations

import abc
import functools
import importlib
import importlib.metadata
import json
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar, TypeAlias

import numpy as np
import pandas as pd

from modelyard.errors import BackendUnavailable, InvalidInput

PredictOutput: TypeAlias = np.ndarray | pd.DataFrame

META_NAME = "flavor.json"
"""A small JSON file a flavor may write beside its model file for what the file cannot carry."""


class LoadedModel(abc.ABC):
    """A loaded model, called with a DataFrame already checked against the signature.

    Implementers translate the DataFrame to what their library takes (a NumPy array for an
    estimator fitted without feature names, a ``DMatrix``, ONNX input tensors) and must not catch
    the library's exceptions: ``Predictor`` turns them into ``UserCodeError``.
    """

    @abc.abstractmethod
    def predict(self, df: pd.DataFrame) -> PredictOutput:
        """The model's prediction for each row."""

    @property
    def has_predict_proba(self) -> bool:
        """Whether ``predict_proba`` is meaningful for this model (a classifier's probabilities)."""
        return False

    @property
    def native(self) -> object | None:
        """The library's own model object (estimator, booster, ...), for code that reads its structure.

        Explainers use it to pick an exact algorithm (a tree explainer walks the trees). ``None``
        for models whose library object gives nothing beyond ``predict`` (ONNX sessions).
        """
        return None

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray:
        """Class probabilities, one row per input row and one column per class.

        The default is for models without probabilities (regressors): callers check
        ``has_predict_proba`` first, and a direct call gets the same error ``Predictor`` gives.
        """
        raise InvalidInput(f"{type(self).__name__} has no predict_proba (is it a classifier?)")

    # -- the array path: requests that never became a DataFrame --------------------------------------

    def takes_array(self, names: tuple[str, ...]) -> bool:
        """Whether ``predict_array`` gives what ``predict`` gives for a frame of columns ``names``
        (the signature's, in order) holding the same values.

        The pandas tax: building a DataFrame per request, and the library checking and converting
        it again, cost more than a small model's predict. A model whose library takes a plain array
        (an estimator fitted without feature names, a booster, an ONNX session) says so here, once
        per model; ``Predictor.predict_array`` then hands it the checked array. The default is no:
        a model that needs a frame (user code, a pipeline selecting columns by name) gets one.
        """
        return False

    def predict_array(self, values: np.ndarray, names: tuple[str, ...]) -> PredictOutput:
        """``predict`` on a 2-D array of the columns ``names`` checked against the signature; a
        model that takes frames only (``takes_array`` false) gets the frame built from it."""
        return self.predict(pd.DataFrame(values, columns=list(names)))

    def predict_proba_array(self, values: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
        """``predict_proba`` on a checked 2-D array (``has_predict_proba`` first); the frame path for a
        model that takes frames only."""
        return self.predict_proba(pd.DataFrame(values, columns=list(names)))


class Flavor(abc.ABC):
    """Saves and loads one kind of model object. Instances are stateless and shared.

    Implementers set ``name`` (stored in the manifest; never change it once models exist),
    ``libraries`` (the distributions the saved files need, pinned into ``requirements.txt``) and
    ``extra`` (the ``modelyard[...]`` pip extra that installs them), and implement the four methods.
    ``save`` writes into an existing empty folder and ``load`` reads the same folder back; both
    import their library with ``require_module``. A minimal flavor::

        class JoblibFlavor(Flavor):
            name = "joblib"
            libraries = ("joblib",)
            extra = "joblib"

            def detect(self, obj: object) -> bool:
                return defined_in(obj, "mylib")

            def save(self, obj: object, path: Path) -> None:
                joblib = require_module("joblib", extra=self.extra)
                joblib.dump(obj, path / "model.joblib")

            def load(self, path: Path) -> LoadedModel:
                joblib = require_module("joblib", extra=self.extra)
                return MyLoadedModel(joblib.load(path / "model.joblib"))
    """

    name: ClassVar[str]
    libraries: ClassVar[tuple[str, ...]] = ()
    extra: ClassVar[str | None] = None

    @abc.abstractmethod
    def detect(self, obj: object) -> bool:
        """Whether ``obj`` is a model this flavor can save. Must not import a library ``obj`` lacks."""

    @abc.abstractmethod
    def save(self, obj: object, path: Path) -> None:
        """Write ``obj`` into the empty folder ``path``; ``InvalidInput`` if it cannot be saved."""

    @abc.abstractmethod
    def load(self, path: Path) -> LoadedModel:
        """Read back what ``save`` wrote into ``path``."""

    def requirements(self) -> list[str]:
        """pip requirement lines for the saved files, pinned to the installed versions."""
        return pinned(*self.libraries)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


def require_module(module: str, *, extra: str | None) -> ModuleType:
    """Import a flavor's library, or say how to install it (``BackendUnavailable``)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        hint = f"pip install 'modelyard[{extra}]'" if extra else f"pip install {module}"
        raise BackendUnavailable(
            f"the Python package {module!r} is needed for this model but is not installed; run: {hint}",
            module=module,
            extra=extra,
        ) from exc


def defined_in(obj: object, package: str) -> bool:
    """Whether ``obj``'s class or one of its bases comes from ``package``.

    Flavors detect by module name first so that asking "is this an XGBoost model?" never imports
    XGBoost for an object that cannot be one.
    """
    return any(cls.__module__.split(".", 1)[0] == package for cls in type(obj).__mro__)


@functools.lru_cache(maxsize=256)
def installed_version(distribution: str) -> str | None:
    """The installed version of a distribution, or ``None`` when it is not installed.

    Cached per process: a metadata lookup scans every ``sys.path`` entry (tens of milliseconds
    each, several per save and load), and the code a process has imported does not change version
    under it; a later ``pip install`` shows in the next process, where the module is imported anew.
    """
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def pinned(*distributions: str) -> list[str]:
    """``name==version`` for each installed distribution; the bare name for one that is not."""
    lines = []
    for distribution in distributions:
        version = installed_version(distribution)
        lines.append(f"{distribution}=={version}" if version else distribution)
    return lines


def write_meta(path: Path, meta: dict[str, Any]) -> None:
    """Write the flavor's ``flavor.json`` into its folder."""
    (path / META_NAME).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def read_meta(path: Path) -> dict[str, Any]:
    """Read the flavor's ``flavor.json``; ``InvalidInput`` when it is missing or not an object."""
    try:
        meta = json.loads((path / META_NAME).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput(f"the model folder {str(path)!r} has no {META_NAME}") from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{META_NAME} in {str(path)!r} is not valid JSON: {exc}") from exc
    if not isinstance(meta, dict):
        raise InvalidInput(f"{META_NAME} in {str(path)!r} must be a JSON object")
    return meta


def feature_input(model: object, df: pd.DataFrame) -> pd.DataFrame | np.ndarray:
    """``df`` for a model fitted on named columns, its array for one fitted on an array.

    scikit-learn-style estimators warn (an error under strict warnings) when given named columns
    they were not fitted with; the signature has already put the columns in training order.
    """
    return df if hasattr(model, "feature_names_in_") else df.to_numpy()
