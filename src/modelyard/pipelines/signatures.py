"""The signature of a model a step returns: stated with ``ModelOutput``, or inferred from its inputs.

A model logged by hand with ``log_model(..., input_example=frame.head())`` gets a signature, so
``load_model`` checks inputs, the server answers a bad request with a 422 naming the column, and
the model card lists the features. A model a step returns gets the same: the step's first
DataFrame input that holds every feature the fitted model names (``feature_names_in_`` for
scikit-learn estimators and pipelines and the XGBoost/LightGBM scikit-learn wrappers, the boosters'
own feature names) gives the example, its first rows restricted to those features, so a target
column next to them is left out. A step that knows better returns ``ModelOutput(model,
input_example=...)``. When neither applies the model is stored without a signature and the step's
run says why (tag ``modelyard.step.signature``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from modelyard.errors import InvalidInput
from modelyard.models import InputExample, ModelSignature, infer_signature

SIGNATURE_TAG = "modelyard.step.signature"
EXAMPLE_ROWS = 5


@dataclass(frozen=True, eq=False)
class ModelOutput:
    """A step's model with the example (or signature) to log it with, instead of an inferred one.

    ``return ModelOutput(model, input_example=features.head())`` from a step whose inputs do not
    show the model's features (a model fitted on arrays, or on columns built inside the step).
    """

    model: Any
    input_example: InputExample | None = None
    signature: ModelSignature | None = None


@dataclass(frozen=True, kw_only=True)
class SignaturePlan:
    """What to log the model with, and the note the step's run gets about it."""

    input_example: InputExample | None
    signature: ModelSignature | None
    note: str


def feature_names(model: object) -> tuple[str, ...] | None:
    """The column names ``model`` was fitted on, or ``None`` when it does not say."""
    names: Any = getattr(model, "feature_names_in_", None)  # scikit-learn; XGB/LGBM sklearn wrappers
    if names is None and not callable(getattr(model, "feature_names", None)):
        names = getattr(model, "feature_names", None)  # xgboost.Booster
    if names is None and callable(getattr(model, "feature_name", None)):
        try:
            names = model.feature_name()  # type: ignore[attr-defined]  # lightgbm.Booster
        except Exception:  # an unrelated method of that name: no names
            names = None
    if names is None:
        return None
    found = tuple(str(n) for n in np.asarray(names).tolist())
    used = _columns_used(model)
    if used is not None:
        found = tuple(n for n in found if n in used)
    return found or None


def _columns_used(model: object) -> set[str] | None:
    """The columns a scikit-learn ``ColumnTransformer`` (alone or first in a ``Pipeline``) reads,
    when it names them: a model fitted on the whole frame, label included, drops the label there,
    and a request need not carry it. ``None`` when the model does not say."""
    first = model
    while hasattr(first, "steps") and isinstance(first.steps, list) and first.steps:
        first = first.steps[0][1]
    transformers = getattr(first, "transformers_", None)
    if not isinstance(transformers, list):
        return None
    used: set[str] = set()
    for entry in transformers:
        _, transformer, columns = entry[:3]
        if isinstance(transformer, str) and transformer == "drop":
            continue
        if isinstance(columns, str):
            columns = [columns]
        values = list(np.asarray(columns, dtype=object).ravel()) if not callable(columns) else None
        if values is None or not all(isinstance(c, str) for c in values):
            return None  # positions, masks or slices: every column may be read
        used.update(values)
    return used


def plan_signature(value: object, inputs: Mapping[str, Any]) -> tuple[Any, SignaturePlan]:
    """The model to store and how to describe its input, from the step's return value and inputs."""
    if isinstance(value, ModelOutput):
        if value.input_example is None and value.signature is None:
            raise InvalidInput("ModelOutput needs an input_example or a signature (or return the model itself)")
        note = "given by the step (ModelOutput)"
        return value.model, SignaturePlan(input_example=value.input_example, signature=value.signature, note=note)
    return value, infer_from_inputs(value, inputs)


def infer_from_inputs(model: object, inputs: Mapping[str, Any]) -> SignaturePlan:
    """An example from the first DataFrame input holding all of the model's features, or the reason
    there is none."""
    frames = {name: v for name, v in inputs.items() if isinstance(v, pd.DataFrame)}
    if not frames:
        return _none("the step has no DataFrame input to take an example from")
    names = feature_names(model)
    if names is None:
        return _none("the model does not name its features (fit it on a DataFrame)")
    lacking: list[str] = []
    for arg, frame in frames.items():
        columns = {str(c): c for c in frame.columns}
        missing = [n for n in names if n not in columns]
        if missing:
            lacking.append(f"{arg!r} lacks {', '.join(map(repr, missing[:3]))}{', ...' if len(missing) > 3 else ''}")
            continue
        example = frame[[columns[n] for n in names]].head(EXAMPLE_ROWS)
        example.columns = list(names)
        try:
            infer_signature(example)
        except InvalidInput as exc:
            return _none(f"no signature fits input {arg!r}: {exc.message}")
        note = f"inferred from input {arg!r}: {len(names)} feature columns"
        return SignaturePlan(input_example=example.reset_index(drop=True), signature=None, note=note)
    return _none(f"no DataFrame input holds every feature of the model ({'; '.join(lacking)})")


def _none(reason: str) -> SignaturePlan:
    return SignaturePlan(
        input_example=None,
        signature=None,
        note=f"none: {reason}; return ModelOutput(model, input_example=...) to give one",
    )
