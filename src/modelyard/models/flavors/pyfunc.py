"""Any Python object with ``predict(DataFrame)``: the flavor of last resort.

The object is pickled with cloudpickle when it is installed (it also handles classes defined in
``__main__`` or a notebook, and lambdas, and stores classes from the user's own files by value, so
they load where those files are absent: see ``_pickling``), else with the standard library's
pickle, which stores classes by reference: their module must be importable where the model is
loaded. Either way the file is a pickle and loading runs code from it: load only models you trust.
The libraries the object uses are unknown here; pass them to ``save_model(requirements=...)``.
"""

from __future__ import annotations

import importlib.util
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from modelyard.errors import InvalidInput
from modelyard.models.flavors._pickling import dump_or_refuse, load_or_explain, user_code_by_value
from modelyard.models.flavors.base import (
    Flavor,
    LoadedModel,
    PredictOutput,
    pinned,
    read_meta,
    require_module,
    write_meta,
)

_FILE = "model.pkl"


def _serializer() -> str:
    return "cloudpickle" if importlib.util.find_spec("cloudpickle") is not None else "pickle"


class PyfuncFlavor(Flavor):
    """An instance whose ``predict`` takes a DataFrame; ``predict_proba`` is used when present."""

    name = "pyfunc"

    def detect(self, obj: object) -> bool:
        return not isinstance(obj, type) and callable(getattr(obj, "predict", None))

    def save(self, obj: object, path: Path) -> None:
        if not self.detect(obj):
            raise InvalidInput(f"a pyfunc model needs a predict(DataFrame) method; {type(obj).__name__} has none")
        serializer = _serializer()
        module = require_module(serializer, extra=None)
        with (path / _FILE).open("wb") as handle:
            if serializer == "pickle":
                by_value = False
                dump_or_refuse(lambda: pickle.dump(obj, handle, protocol=pickle.HIGHEST_PROTOCOL), obj)
            else:
                with user_code_by_value(obj, module) as by_value:
                    dump_or_refuse(lambda: module.dump(obj, handle, protocol=pickle.HIGHEST_PROTOCOL), obj)
        write_meta(path, {"serializer": serializer, "class": _qualified_name(obj), "class_by_value": by_value})

    def load(self, path: Path) -> LoadedModel:
        serializer = str(read_meta(path).get("serializer", "pickle"))
        if serializer not in ("pickle", "cloudpickle"):
            raise InvalidInput(f"unknown pyfunc serializer {serializer!r}")
        require_module(serializer, extra=None)  # cloudpickle files may call into cloudpickle
        with (path / _FILE).open("rb") as handle:
            model = load_or_explain(lambda: pickle.load(handle), path / _FILE)
        return _PyfuncModel(model)

    def requirements(self) -> list[str]:
        return pinned("cloudpickle") if _serializer() == "cloudpickle" else []


def _qualified_name(obj: object) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


class _PyfuncModel(LoadedModel):
    def __init__(self, model: Any) -> None:
        self._model = model

    @property
    def native(self) -> object:
        return self._model

    def predict(self, df: pd.DataFrame) -> PredictOutput:
        result: PredictOutput = self._model.predict(df)
        return result

    @property
    def has_predict_proba(self) -> bool:
        return callable(getattr(self._model, "predict_proba", None))

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray:
        result: np.ndarray = self._model.predict_proba(df)
        return result
