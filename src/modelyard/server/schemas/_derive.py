"""Response schemas derived from the domain's frozen dataclasses, so the two cannot drift apart.

A route declares ``response_model=schema_for(Run)`` and returns the domain record; FastAPI
validates it into the derived pydantic model (``from_attributes``) and the OpenAPI document names
every field. Floats serialise NaN and the infinities as the strings ``"NaN"``, ``"Infinity"`` and
``"-Infinity"`` (JSON has no such numbers, and metrics may hold them), as MLflow's wire format
does; the schema says so, and the remote SDK reads them back as floats.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, create_model

JsonFloat = Annotated[
    float,
    WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "string", "enum": ["NaN", "Infinity", "-Infinity"]}]}),
]


INT64_MAX = 2**63 - 1
Int64 = Annotated[int, Field(ge=-INT64_MAX, le=INT64_MAX)]  # what the store's BIGINT columns hold
Count = Annotated[int, Field(ge=1, le=2**31 - 1)]  # versions, revisions, request ids


class Schema(BaseModel):
    """Base of every HTTP body: reads domain records' attributes; NaN and infinities as strings."""

    model_config = ConfigDict(from_attributes=True, ser_json_inf_nan="strings", populate_by_name=True)


_derived: dict[type, type[BaseModel]] = {}


def schema_for(record: type) -> type[BaseModel]:
    """The pydantic model of a domain dataclass (built once, named ``<Class>Out``)."""
    found = _derived.get(record)
    if found is not None:
        return found
    if not dataclasses.is_dataclass(record):
        raise TypeError(f"{record!r} is not a dataclass")
    hints = typing.get_type_hints(record)
    fields: dict[str, Any] = {}
    for item in dataclasses.fields(record):
        annotation = _translate(hints[item.name])
        if item.default is not dataclasses.MISSING:
            default: Any = item.default
        elif item.default_factory is not dataclasses.MISSING:
            default = Field(default_factory=item.default_factory)
        else:
            default = ...
        fields[item.name] = (annotation, default)
    model = create_model(f"{record.__name__}Out", __base__=Schema, __module__=__name__, **fields)
    model.__doc__ = (record.__doc__ or "").strip() or None
    _derived[record] = model
    return model


def _translate(annotation: Any) -> Any:
    """``annotation`` with every dataclass replaced by its schema and ``float`` by ``JsonFloat``."""
    if annotation is float:
        return JsonFloat
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        return schema_for(annotation)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return annotation
    origin = get_origin(annotation)
    if origin is None:
        return annotation
    args = get_args(annotation)
    if origin in (Union, types.UnionType):
        translated = tuple(_translate(a) for a in args)
        return Union[translated]  # noqa: UP007 - built from a runtime tuple
    if origin is Literal or origin is Annotated:
        return annotation
    if origin in (dict, Mapping):
        return dict[_translate(args[0]), _translate(args[1])]  # type: ignore[misc]
    if origin in (list, Sequence):
        return list[_translate(args[0])]  # type: ignore[misc]
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return list[_translate(args[0])]  # type: ignore[misc]
        return tuple[tuple(_translate(a) for a in args)]  # type: ignore[misc]
    return annotation
