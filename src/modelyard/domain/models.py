"""Logged-model records: what a model expects (its signature) and what a model directory holds.

A model directory is written once and read by every later stage (registry, serving, batch
inference, monitoring), often by a different process and modelyard version. These records are the
contract between writer and readers, so they convert to and from plain JSON-able dicts and refuse
malformed input with ``InvalidInput`` naming the field, instead of failing later in a predict call.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from modelyard.errors import InvalidInput

MANIFEST_FORMAT_VERSION = 2
"""The layout version this modelyard writes and the newest it reads."""


class DataType(enum.StrEnum):
    """The type of a signature column.

    Widths are kept (``int32`` vs ``int64``, ``float32`` vs ``float64``) so that enforcement can cast
    an input to exactly what the model saw in training; narrower integers (int8, uint16, ...) are
    recorded as ``int32`` and float16 as ``float32``.
    """

    BOOLEAN = "boolean"
    INT32 = "int32"
    INT64 = "int64"
    FLOAT32 = "float32"
    FLOAT64 = "float64"
    STRING = "string"
    DATETIME = "datetime"


@dataclass(frozen=True, kw_only=True)
class ColumnSpec:
    """One named input (or output) column. ``optional`` columns may hold missing values."""

    name: str
    dtype: DataType
    optional: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "column", "name": self.name, "dtype": self.dtype.value, "optional": self.optional}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnSpec:
        return cls(
            name=str(_required(data, "name", "column")),
            dtype=_data_type(_required(data, "dtype", "column")),
            optional=bool(data.get("optional", False)),
        )


@dataclass(frozen=True, kw_only=True)
class TensorSpec:
    """An unnamed array output; ``dtype`` is a NumPy dtype name, ``-1`` marks a variable dimension."""

    dtype: str
    shape: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "tensor", "dtype": self.dtype, "shape": list(self.shape)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TensorSpec:
        shape = _required(data, "shape", "tensor")
        if not isinstance(shape, list | tuple) or not all(isinstance(d, int) for d in shape):
            raise InvalidInput(f"tensor shape must be a list of integers, got {shape!r}")
        return cls(dtype=str(_required(data, "dtype", "tensor")), shape=tuple(shape))


@dataclass(frozen=True, kw_only=True)
class ModelSignature:
    """The columns a model takes, in the order it takes them, and what it returns.

    ``inputs`` is enforced before every predict call; ``outputs`` is descriptive only (serving uses
    it for metadata) and may be empty when unknown.
    """

    inputs: tuple[ColumnSpec, ...]
    outputs: tuple[ColumnSpec | TensorSpec, ...] = ()

    def __post_init__(self) -> None:
        if not self.inputs:
            raise InvalidInput("a signature needs at least one input column")
        seen: set[str] = set()
        for column in self.inputs:
            if not column.name:
                raise InvalidInput("signature input columns need a non-empty name")
            if column.name in seen:
                raise InvalidInput(f"signature input column {column.name!r} appears twice")
            seen.add(column.name)

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.inputs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "inputs": [column.to_dict() for column in self.inputs],
            "outputs": [spec.to_dict() for spec in self.outputs],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelSignature:
        inputs = _required(data, "inputs", "signature")
        if not isinstance(inputs, list):
            raise InvalidInput("signature 'inputs' must be a list of columns")
        raw_outputs = data.get("outputs") or []
        if not isinstance(raw_outputs, list):
            raise InvalidInput("signature 'outputs' must be a list of columns or tensors")
        outputs: list[ColumnSpec | TensorSpec] = []
        for spec in raw_outputs:
            if not isinstance(spec, Mapping):
                raise InvalidInput(f"a signature output must be a JSON object, got {type(spec).__name__}")
            outputs.append(TensorSpec.from_dict(spec) if spec.get("kind") == "tensor" else ColumnSpec.from_dict(spec))
        return cls(inputs=tuple(ColumnSpec.from_dict(c) for c in inputs), outputs=tuple(outputs))


@dataclass(frozen=True, kw_only=True)
class ModelManifest:
    """The ``modelyard.json`` of a model directory: how to load it and how to check it is intact.

    ``digest`` is ``sha256:<hex>`` over every other file of the directory and (from format 2 on)
    over this manifest's own fields but the digest (see ``modelyard.models.format``), so a reader
    can tell a tampered or half-copied model, or an edited manifest, from the one that was saved.
    ``signature`` is ``None`` when the model was saved with neither a signature nor an input
    example; its predictor then passes inputs through unchecked (``signature_enforced``).
    """

    flavor: str
    digest: str
    created_time: int
    python_version: str
    library_versions: dict[str, str] = field(default_factory=dict)
    requirements: tuple[str, ...] = ()
    signature: ModelSignature | None = None
    input_example_path: str | None = None
    model_path: str = "model"
    format_version: int = MANIFEST_FORMAT_VERSION

    @property
    def signature_enforced(self) -> bool:
        """Whether predictors check inputs; false only for models saved without a signature."""
        return self.signature is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": self.format_version,
            "flavor": self.flavor,
            "model_path": self.model_path,
            "digest": self.digest,
            "created_time": self.created_time,
            "python_version": self.python_version,
            "library_versions": dict(sorted(self.library_versions.items())),
            "requirements": list(self.requirements),
            "signature": self.signature.to_dict() if self.signature is not None else None,
            "signature_enforced": self.signature_enforced,
            "input_example_path": self.input_example_path,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelManifest:
        """Read a manifest; ``signature_enforced`` is derived, so a stored value is not trusted."""
        if not isinstance(data, Mapping):
            raise InvalidInput("a model manifest must be a JSON object")
        signature = data.get("signature")
        versions = data.get("library_versions") or {}
        if not isinstance(versions, Mapping):
            raise InvalidInput("manifest 'library_versions' must be an object")
        requirements = data.get("requirements") or []
        if not isinstance(requirements, list):
            raise InvalidInput("manifest 'requirements' must be a list")
        example = data.get("input_example_path")
        return cls(
            format_version=_integer(data, "format_version"),
            flavor=str(_required(data, "flavor", "manifest")),
            model_path=str(data.get("model_path", "model")),
            digest=str(_required(data, "digest", "manifest")),
            created_time=_integer(data, "created_time"),
            python_version=str(_required(data, "python_version", "manifest")),
            library_versions={str(k): str(v) for k, v in versions.items()},
            requirements=tuple(str(r) for r in requirements),
            signature=ModelSignature.from_dict(signature) if signature is not None else None,
            input_example_path=str(example) if example is not None else None,
        )


def _required(data: Mapping[str, Any], key: str, what: str) -> Any:
    if not isinstance(data, Mapping):
        raise InvalidInput(f"a {what} must be a JSON object, got {type(data).__name__}")
    if key not in data or data[key] is None:
        raise InvalidInput(f"{what} is missing the field {key!r}")
    return data[key]


def _integer(data: Mapping[str, Any], key: str) -> int:
    value = _required(data, key, "manifest")
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"manifest field {key!r} must be an integer, got {value!r}")
    return value


def _data_type(value: Any) -> DataType:
    try:
        return DataType(value)
    except ValueError:
        known = ", ".join(t.value for t in DataType)
        raise InvalidInput(f"unknown column dtype {value!r}; known: {known}") from None
