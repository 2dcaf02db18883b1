"""Signatures between MLflow's ``MLmodel`` format and modelyard's ``ModelSignature``.

MLflow stores a signature as two JSON strings (``inputs``, ``outputs``), each a list of column
specs (``{"type": "double", "name": "a", "required": true}``) or of tensor specs
(``{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 4]}}``). modelyard's
inputs are named columns, so:

- a column spec becomes a ``ColumnSpec`` (``required: false`` is ``optional``); MLflow's
  ``integer``/``long``/``float``/``double`` keep their widths;
- a 2-D tensor input of known width ``k`` becomes ``k`` columns ``"0"`` … ``"k-1"`` of its dtype,
  the columns a 2-D array example gets (a 1-D tensor, one column ``"0"``);
- an unnamed output column becomes a 1-D ``TensorSpec`` (what modelyard infers for an array);
- anything else (``binary``, objects, arrays, images) has no modelyard counterpart: the inputs are
  then left unchecked (no signature) rather than checked wrongly, and a warning says why.

Writing goes the other way, so MLflow's loaders enforce the same contract modelyard does.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from modelyard.domain.models import ColumnSpec, DataType, ModelSignature, TensorSpec
from modelyard.errors import InvalidInput

logger = logging.getLogger(__name__)

_FROM_MLFLOW = {
    "boolean": DataType.BOOLEAN,
    "integer": DataType.INT32,
    "long": DataType.INT64,
    "float": DataType.FLOAT32,
    "double": DataType.FLOAT64,
    "string": DataType.STRING,
    "datetime": DataType.DATETIME,
}
_TO_MLFLOW = {dtype: name for name, dtype in _FROM_MLFLOW.items()}
_NUMPY_TO_DATATYPE = {
    "bool": DataType.BOOLEAN,
    "int8": DataType.INT32,
    "int16": DataType.INT32,
    "int32": DataType.INT32,
    "uint8": DataType.INT32,
    "uint16": DataType.INT32,
    "int64": DataType.INT64,
    "uint32": DataType.INT64,
    "float16": DataType.FLOAT32,
    "float32": DataType.FLOAT32,
    "float64": DataType.FLOAT64,
    "str": DataType.STRING,
    "object": DataType.STRING,
    "string": DataType.STRING,
}


class _Unsupported(Exception):
    """A spec with no modelyard counterpart (the message says which)."""


def signature_from_mlflow(raw: object, *, where: str) -> ModelSignature | None:
    """The modelyard signature of an ``MLmodel``'s ``signature`` entry (``None`` when it has none).

    ``InvalidInput`` when the entry is malformed (not JSON, not lists of specs); a well-formed
    signature modelyard cannot express gives ``None`` and a warning naming ``where``.
    """
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise InvalidInput(f"the signature in {where} must be a mapping with 'inputs' and 'outputs'")
    inputs = _spec_list(raw.get("inputs"), "inputs", where)
    if not inputs:
        return None
    try:
        columns = tuple(column for spec in inputs for column in _input_columns(spec))
        outputs = tuple(_output_spec(spec) for spec in _spec_list(raw.get("outputs"), "outputs", where))
        return ModelSignature(inputs=columns, outputs=outputs)
    except _Unsupported as exc:
        logger.warning("the MLflow signature in %s is not checked by modelyard: %s", where, exc)
        return None


def signature_to_mlflow(signature: ModelSignature) -> dict[str, Any]:
    """The ``signature`` entry of an ``MLmodel`` file for ``signature``.

    Outputs mixing named columns and tensors (which MLflow's schema cannot hold) are left out;
    they are descriptive only.
    """
    inputs = [_column_to_mlflow(column) for column in signature.inputs]
    outputs: list[dict[str, Any]] | None = [_output_to_mlflow(spec) for spec in signature.outputs]
    if outputs and len({spec["type"] == "tensor" for spec in outputs}) > 1:
        outputs = None
    return {
        "inputs": json.dumps(inputs),
        "outputs": json.dumps(outputs) if outputs else None,
        "params": None,
    }


def _spec_list(raw: object, key: str, where: str) -> list[Mapping[str, Any]]:
    if raw is None:
        return []
    try:
        specs = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"the signature {key} in {where} are not valid JSON: {exc}") from exc
    if specs is None:
        return []
    if not isinstance(specs, list) or not all(isinstance(spec, Mapping) for spec in specs):
        raise InvalidInput(f"the signature {key} in {where} must be a list of column or tensor specs")
    return specs


def _input_columns(spec: Mapping[str, Any]) -> list[ColumnSpec]:
    kind = str(spec.get("type"))
    if kind != "tensor":
        name = spec.get("name")
        if not name:
            raise _Unsupported("an input column has no name")
        return [ColumnSpec(name=str(name), dtype=_column_type(kind), optional=not spec.get("required", True))]
    tensor = spec.get("tensor-spec") or {}
    dtype = _numpy_type(str(tensor.get("dtype")))
    shape = tensor.get("shape") or []
    if len(shape) == 1:
        return [ColumnSpec(name=str(spec.get("name") or "0"), dtype=dtype)]
    if len(shape) != 2 or not isinstance(shape[1], int) or shape[1] < 1:
        raise _Unsupported(f"the tensor input of shape {shape} is not a table of rows and columns")
    return [ColumnSpec(name=str(position), dtype=dtype) for position in range(shape[1])]


def _output_spec(spec: Mapping[str, Any]) -> ColumnSpec | TensorSpec:
    kind = str(spec.get("type"))
    if kind == "tensor":
        tensor = spec.get("tensor-spec") or {}
        shape = tensor.get("shape") or [-1]
        if not all(isinstance(dimension, int) for dimension in shape):
            raise _Unsupported(f"the tensor output shape {shape} is not a list of integers")
        return TensorSpec(dtype=str(tensor.get("dtype")), shape=tuple(shape))
    dtype = _column_type(kind)
    name = spec.get("name")
    if not name:
        return TensorSpec(dtype=_NUMPY_NAMES[dtype], shape=(-1,))
    return ColumnSpec(name=str(name), dtype=dtype, optional=not spec.get("required", True))


def _column_type(kind: str) -> DataType:
    try:
        return _FROM_MLFLOW[kind]
    except KeyError:
        raise _Unsupported(f"MLflow column type {kind!r} has no modelyard counterpart") from None


def _numpy_type(name: str) -> DataType:
    try:
        return _NUMPY_TO_DATATYPE[name]
    except KeyError:
        raise _Unsupported(f"tensor dtype {name!r} has no modelyard counterpart") from None


_NUMPY_NAMES = {
    DataType.BOOLEAN: "bool",
    DataType.INT32: "int32",
    DataType.INT64: "int64",
    DataType.FLOAT32: "float32",
    DataType.FLOAT64: "float64",
    DataType.STRING: "string",
    DataType.DATETIME: "datetime64[ns]",
}


def _column_to_mlflow(column: ColumnSpec) -> dict[str, Any]:
    return {"type": _TO_MLFLOW[column.dtype], "name": column.name, "required": not column.optional}


def _output_to_mlflow(spec: ColumnSpec | TensorSpec) -> dict[str, Any]:
    if isinstance(spec, ColumnSpec):
        return _column_to_mlflow(spec)
    if len(spec.shape) == 1 and spec.dtype in _NUMPY_TO_DATATYPE:
        return {"type": _TO_MLFLOW[_NUMPY_TO_DATATYPE[spec.dtype]], "required": True}
    dtype = "object" if spec.dtype == "string" else spec.dtype
    return {"type": "tensor", "tensor-spec": {"dtype": dtype, "shape": list(spec.shape)}}
