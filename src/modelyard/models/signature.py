"""Inferring a model's signature from an example, and holding requests to it before predict.

A request that does not match what the model was trained on fails in the model with a message
about arrays and dtypes, or worse, silently predicts garbage (columns in the wrong order, strings
coerced to NaN). Checking here, with one error that names every bad column, turns that into a
400 the caller can act on.

Enforcement rules (``enforce_signature``):

- a required column that is missing, a column of the wrong type, and a column the signature does
  not list are all errors. Extra columns are refused rather than dropped: a client sending fields
  the model ignores is usually a client built against a different model version, and silently
  dropping them hides that. An ``optional`` column that is not sent is added, all missing;
- safe casts (``modelyard.models.dtypes``: integers to wider integers or floats, floats to the
  signature's float width) are applied, so the model sees its training dtypes. Two more are
  checked value by value, for JSON clients: whole-number floats to integers (``1.5`` is refused)
  and ISO 8601 strings to datetimes;
- columns are reordered to the signature's order;
- a missing value (NaN, None, NA) in a column that is not ``optional`` is an error, and so is an
  infinite one (±inf: JSON ``1e400``, CSV ``inf``): only optional columns take non-finite values;
- column labels are compared as strings, so ``pd.DataFrame(array)`` matches a signature inferred
  from that array.

Error messages name columns and types, never values, so they can be returned to clients without
leaking the request's data.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from modelyard.domain.models import ColumnSpec, DataType, ModelSignature, TensorSpec
from modelyard.errors import InvalidInput
from modelyard.models import dtypes
from modelyard.models.examples import InputExample, as_frame


def infer_signature(input_example: InputExample, output: Any = None) -> ModelSignature:
    """The signature of a model that takes inputs like ``input_example`` (and returns ``output``).

    Column types come from the example's dtypes; a column with a missing value is ``optional``.
    ``output`` (a model's prediction on the example) is optional and only recorded: an array
    becomes a tensor spec with a variable first dimension, a DataFrame or named Series columns.
    """
    frame = as_frame(input_example)
    inputs = tuple(_column_spec(name, frame[name]) for name in frame.columns)
    return ModelSignature(inputs=inputs, outputs=_output_specs(output))


def enforce_signature(df: pd.DataFrame, signature: ModelSignature) -> pd.DataFrame:
    """``df`` checked against ``signature``, cast and ordered as the model expects.

    Returns ``df`` itself (no copy) when it already matches exactly; otherwise a new frame with
    the same index. Raises ``InvalidInput`` listing every problem, each with its column, in
    ``details["problems"]``.
    """
    if not isinstance(df, pd.DataFrame):
        raise InvalidInput(f"model input must be a pandas DataFrame, got {type(df).__name__}")
    if _already_conforms(df, signature):
        return df
    by_name: dict[str, Any] = {}
    for label in df.columns:
        name = str(label)
        if name in by_name:
            raise InvalidInput(f"input column {name!r} appears twice", column=name)
        by_name[name] = label

    problems: list[dict[str, str]] = []
    columns: dict[str, pd.Series] = {}
    unchanged = list(df.columns) == list(signature.input_names)
    for spec in signature.inputs:
        if spec.name not in by_name:
            if spec.optional:
                columns[spec.name] = dtypes.missing_column(spec.dtype, df.index)
                unchanged = False
            else:
                problems.append(_problem(spec.name, f"missing (required {spec.dtype.value} column)"))
            continue
        series = df[by_name[spec.name]]
        conformed = _conform(series, spec)
        if isinstance(conformed, str):
            problems.append(_problem(spec.name, conformed))
            continue
        unchanged = unchanged and conformed is series
        columns[spec.name] = conformed
    expected = set(signature.input_names)
    problems.extend(
        _problem(name, "not in the signature (extra columns are refused)") for name in by_name if name not in expected
    )
    if problems:
        listing = "; ".join(f"column {p['column']!r}: {p['problem']}" for p in problems)
        raise InvalidInput(f"input does not match the model signature: {listing}", problems=problems)
    if unchanged:
        return df
    return pd.DataFrame(columns, index=df.index)


@dataclasses.dataclass(frozen=True)
class _NumericPlan:
    """What the hot path compares a frame with: names, numpy dtypes, required float positions."""

    names: tuple[str, ...]
    targets: tuple[np.dtype[np.generic], ...]
    nan_checked: tuple[int, ...]
    uniform: np.dtype[np.generic] | None  # the one dtype of every column, when they share one


_PLANS: dict[int, tuple[ModelSignature, _NumericPlan | None]] = {}
_MAX_PLANS = 256


def _numeric_plan(signature: ModelSignature) -> _NumericPlan | None:
    """The plan of a signature whose inputs are all plain numeric columns; ``None`` sends the frame
    down the column-by-column path.

    Kept by the signature's identity (the entry holds the signature, so the id stays its own): a
    served model has one signature object, and hashing a frozen 30-column signature per request
    cost as much as the dtype check itself.
    """
    entry = _PLANS.get(id(signature))
    if entry is not None and entry[0] is signature:
        return entry[1]
    plan = _make_plan(signature)
    if len(_PLANS) >= _MAX_PLANS:
        _PLANS.clear()
    _PLANS[id(signature)] = (signature, plan)
    return plan


def _make_plan(signature: ModelSignature) -> _NumericPlan | None:
    targets: list[np.dtype[np.generic]] = []
    nan_checked: list[int] = []
    for position, spec in enumerate(signature.inputs):
        target = dtypes.numpy_target(spec.dtype)
        if target is None:
            return None
        targets.append(target)
        if target.kind == "f" and not spec.optional:
            nan_checked.append(position)
    uniform = targets[0] if targets and all(t == targets[0] for t in targets) else None
    return _NumericPlan(signature.input_names, tuple(targets), tuple(nan_checked), uniform)


def _column_dtypes(df: pd.DataFrame) -> tuple[Any, ...]:
    """``tuple(df.dtypes)`` without building the ``dtypes`` Series (a third of the check's cost);
    falls back to the public property if pandas' block manager ever loses ``get_dtypes``."""
    get_dtypes = getattr(getattr(df, "_mgr", None), "get_dtypes", None)
    return tuple(get_dtypes()) if get_dtypes is not None else tuple(df.dtypes)


def _already_conforms(df: pd.DataFrame, signature: ModelSignature) -> bool:
    """The serving hot path: a frame that already has the signature's columns, in order, with its
    exact numpy dtypes and no missing value where none is allowed, needs no per-column work.

    One comparison of the dtypes and one vectorised NaN scan replace a Series, a classification
    and an ``isna`` per column; anything else takes the full path, which explains what is wrong.
    """
    plan = _numeric_plan(signature)
    if plan is None or tuple(df.columns) != plan.names:
        return False
    if _column_dtypes(df) != plan.targets:
        return False
    nan_checked = plan.nan_checked
    if not nan_checked:
        return True
    values = df.to_numpy() if len(nan_checked) == len(plan.targets) else df.iloc[:, list(nan_checked)].to_numpy()
    return bool(np.isfinite(values).all())  # no NaN and no ±inf where the column is not optional


def conforming_array(values: np.ndarray, columns: tuple[str, ...], signature: ModelSignature) -> np.ndarray | None:
    """``values`` (a 2-D float array whose columns are named ``columns``) as the model's array, or
    ``None`` when only ``enforce_signature`` can say whether it conforms.

    The array twin of the hot path above, for requests that never became a DataFrame: the
    columns must be the signature's, in order, every column of one float dtype, and no NaN or
    ±inf where a column is not optional. ``float64`` given for ``float32`` columns is cast, as
    ``enforce_signature`` casts each such column. Anything else (a missing or extra column,
    another order, an integer column, a missing value) returns ``None``: the caller builds the
    frame and ``enforce_signature`` refuses it with today's message, or conforms it.
    """
    plan = _numeric_plan(signature)
    if plan is None or plan.uniform is None or plan.uniform.kind != "f" or columns != plan.names:
        return None
    if values.ndim != 2 or values.dtype.kind != "f" or values.shape[1] != len(columns):
        return None
    if values.dtype.itemsize < plan.uniform.itemsize:
        return None  # float32 given for float64 columns: enforce_signature widens it per column
    nan_checked = plan.nan_checked
    if nan_checked:
        checked = values if len(nan_checked) == len(plan.targets) else values[:, list(nan_checked)]
        if not np.isfinite(checked).all():
            return None
    if values.dtype == plan.uniform:
        return values
    # column by column, as enforce_signature casts: the frame it builds hands the model a
    # column-major array, and BLAS sums in another order on another layout (last-bit differences)
    return values.astype(plan.uniform, order="F")


_VALUE_HINTS = {
    DataType.DATETIME: " (strings must be ISO 8601 dates)",
    DataType.INT32: " (floats must be whole numbers in range)",
    DataType.INT64: " (floats must be whole numbers in range)",
}


def _is_float(spec: ColumnSpec) -> bool:
    target = dtypes.numpy_target(spec.dtype)
    return target is not None and target.kind == "f"


def _conform(series: pd.Series, spec: ColumnSpec) -> pd.Series | str:
    """The column as the model expects it (``series`` itself if already so), or the problem."""
    actual = dtypes.classify(series)
    if actual is None:
        return f"expected {spec.dtype.value}, got {dtypes.describe(series)}"
    if not spec.optional and dtypes.may_hold_missing(series) and series.isna().any():
        return "has missing values (NaN/None) but is not optional"
    if not spec.optional and series.dtype.kind == "f" and _is_float(spec) and np.isinf(series.to_numpy()).any():
        return "has infinite values (±inf) but is not optional"
    if dtypes.can_cast(actual, spec.dtype):
        return series if dtypes.conforms(series, spec.dtype) else dtypes.cast(series, spec.dtype)
    converted = dtypes.cast_values(series, actual, spec.dtype)
    if converted is None:
        hint = _VALUE_HINTS.get(spec.dtype, "") if dtypes.may_cast_values(actual, spec.dtype) else ""
        return f"expected {spec.dtype.value}, got {dtypes.describe(series)}{hint}"
    return converted if dtypes.conforms(converted, spec.dtype) else dtypes.cast(converted, spec.dtype)


def _problem(column: str, problem: str) -> dict[str, str]:
    return {"column": column, "problem": problem}


def _column_spec(name: str, series: pd.Series) -> ColumnSpec:
    dtype = dtypes.classify(series)
    if dtype is None:
        raise InvalidInput(
            f"input example column {name!r} has dtype {series.dtype} which has no signature type "
            "(use booleans, integers, floats, strings or datetimes)",
            column=name,
        )
    return ColumnSpec(name=name, dtype=dtype, optional=bool(series.isna().any()))


def _output_specs(output: Any) -> tuple[ColumnSpec | TensorSpec, ...]:
    if output is None:
        return ()
    if isinstance(output, pd.Series):
        if output.name is None:
            return (_tensor_spec(output.to_numpy()),)
        return (_column_spec(str(output.name), output),)
    if isinstance(output, pd.DataFrame):
        frame = as_frame(output)
        return tuple(_column_spec(name, frame[name]) for name in frame.columns)
    return (_tensor_spec(np.asarray(output)),)


def _tensor_spec(array: np.ndarray) -> TensorSpec:
    if array.ndim == 0:
        raise InvalidInput("an output example must have at least one dimension (one row per input)")
    dtype = "string" if array.dtype.kind in "OUS" else array.dtype.name
    return TensorSpec(dtype=dtype, shape=(-1, *array.shape[1:]))
