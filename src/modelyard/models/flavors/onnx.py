"""ONNX models, run with ONNX Runtime.

Accepts an ``onnx.ModelProto`` or the path of an ``.onnx`` file; the file is stored as is (it is
data, not code). Models with external tensor data (over 2 GB) are not supported yet.

ONNX models take tensors, not tables, so the DataFrame (already in signature order) is mapped to
the model's inputs in one of two ways, chosen per call:

- one input per column, when every model input is named after a column (what skl2onnx produces
  for a ``ColumnTransformer`` on named columns); each column becomes an ``(n, 1)`` or ``(n,)``
  tensor of the input's element type;
- otherwise, with a single model input, all columns as one 2-D tensor in signature order (what a
  model converted from ``fit(X_array)`` takes).

``predict`` returns the model's first output (the label, for skl2onnx classifiers);
``predict_proba`` returns the output named ``probabilities`` or ``output_probability`` when the
model has one, as an array (ZipMap outputs, lists of ``{class: probability}``, are converted).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from modelyard.errors import InvalidInput
from modelyard.models.flavors.base import Flavor, LoadedModel, PredictOutput, defined_in, require_module

MODEL_FILE = "model.onnx"
_PROBABILITY_OUTPUTS = ("probabilities", "output_probability")
_ELEMENT_TYPES: dict[str, Any] = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(float16)": np.float16,
    "tensor(int8)": np.int8,
    "tensor(int16)": np.int16,
    "tensor(int32)": np.int32,
    "tensor(int64)": np.int64,
    "tensor(uint8)": np.uint8,
    "tensor(uint16)": np.uint16,
    "tensor(uint32)": np.uint32,
    "tensor(uint64)": np.uint64,
    "tensor(bool)": np.bool_,
    "tensor(string)": object,
}


class OnnxFlavor(Flavor):
    """An ``onnx.ModelProto``, or a ``str``/``Path`` naming an existing ``.onnx`` file."""

    name = "onnx"
    libraries = ("onnxruntime",)
    extra = "onnx"

    def detect(self, obj: object) -> bool:
        if isinstance(obj, str | Path):
            return str(obj).endswith(".onnx") and Path(obj).is_file()
        if not defined_in(obj, "onnx"):
            return False
        onnx = require_module("onnx", extra=self.extra)
        return isinstance(obj, onnx.ModelProto)

    def save(self, obj: object, path: Path) -> None:
        if isinstance(obj, str | Path):
            if not self.detect(obj):
                raise InvalidInput(f"{str(obj)!r} is not an existing .onnx file")
            shutil.copyfile(obj, path / MODEL_FILE)
            return
        onnx = require_module("onnx", extra=self.extra)
        if not isinstance(obj, onnx.ModelProto):
            raise InvalidInput(f"the onnx flavor takes an onnx.ModelProto or a path, got {type(obj).__name__}")
        (path / MODEL_FILE).write_bytes(obj.SerializeToString())

    def load(self, path: Path) -> LoadedModel:
        ort = require_module("onnxruntime", extra=self.extra)
        session = ort.InferenceSession(str(path / MODEL_FILE), providers=ort.get_available_providers())
        return _OnnxModel(session)


class _OnnxModel(LoadedModel):
    def __init__(self, session: Any) -> None:
        self._session = session
        self._inputs = list(session.get_inputs())
        outputs = [output.name for output in session.get_outputs()]
        self._label_output = outputs[0]
        self._probability_output = next((n for n in _PROBABILITY_OUTPUTS if n in outputs), None)

    def predict(self, df: pd.DataFrame) -> PredictOutput:
        return self._run(self._label_output, df)

    @property
    def has_predict_proba(self) -> bool:
        return self._probability_output is not None

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray:
        assert self._probability_output is not None  # Predictor checks has_predict_proba first
        return self._run(self._probability_output, df)

    def takes_array(self, names: tuple[str, ...]) -> bool:
        # the same feeds ``_feed`` would build from a frame of these columns, never its error
        if all(spec.name in names for spec in self._inputs):
            return True
        if len(self._inputs) != 1:
            return False
        width = self._inputs[0].shape[-1] if self._inputs[0].shape else None
        return not isinstance(width, int) or width == len(names)

    def predict_array(self, values: np.ndarray, names: tuple[str, ...]) -> PredictOutput:
        return self._run(self._label_output, values, names)

    def predict_proba_array(self, values: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
        assert self._probability_output is not None  # Predictor checks has_predict_proba first
        return self._run(self._probability_output, values, names)

    def _run(self, output: str, data: pd.DataFrame | np.ndarray, names: tuple[str, ...] = ()) -> np.ndarray:
        feed = self._feed(data) if isinstance(data, pd.DataFrame) else self._feed_array(data, names)
        (result,) = self._session.run([output], feed)
        if isinstance(result, list):  # ZipMap: one {class: probability} dict per row
            return np.asarray(pd.DataFrame(result))
        return np.asarray(result)

    def _feed(self, df: pd.DataFrame) -> dict[str, np.ndarray]:
        columns = {str(label): label for label in df.columns}
        if all(spec.name in columns for spec in self._inputs):
            return {spec.name: _tensor(df[columns[spec.name]], spec) for spec in self._inputs}
        if len(self._inputs) == 1:
            spec = self._inputs[0]
            width = spec.shape[-1] if spec.shape else None
            if isinstance(width, int) and width != df.shape[1]:
                raise InvalidInput(f"the ONNX input {spec.name!r} takes {width} columns, the request has {df.shape[1]}")
            return {spec.name: df.to_numpy(dtype=_element_type(spec))}
        names = [spec.name for spec in self._inputs]
        raise InvalidInput(f"the ONNX model's inputs {names} are not all among the input columns")

    def _feed_array(self, values: np.ndarray, names: tuple[str, ...]) -> dict[str, np.ndarray]:
        """``_feed`` for the checked array of the columns ``names`` (``takes_array`` said it fits)."""
        if all(spec.name in names for spec in self._inputs):
            return {spec.name: _tensor(values[:, names.index(spec.name)], spec) for spec in self._inputs}
        spec = self._inputs[0]
        return {spec.name: values.astype(_element_type(spec), copy=False)}


def _tensor(column: pd.Series | np.ndarray, spec: Any) -> np.ndarray:
    dtype = _element_type(spec)
    values: np.ndarray = column.astype(dtype) if isinstance(column, np.ndarray) else column.to_numpy(dtype=dtype)
    return values.reshape(-1, 1) if len(spec.shape) == 2 else values


def _element_type(spec: Any) -> Any:
    try:
        return _ELEMENT_TYPES[spec.type]
    except KeyError:
        raise InvalidInput(f"the ONNX input {spec.name!r} has type {spec.type}, which is not supported") from None
