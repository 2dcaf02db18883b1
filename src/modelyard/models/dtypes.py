"""How pandas columns map to signature types, and which conversions between them are safe.

Kept apart from ``signature.py`` because both inference (what type is this example column?) and
enforcement (may this column be fed to a model that expects that type?) need the same answers, and
pandas has many spellings of one type (``int64``, ``Int64``, ``int64[pyarrow]``; ``object`` holding
strings, ``str``, ``string[pyarrow]``).

Safe casts widen and never lose a value the model could have been trained on: any integer to a
wider integer or to a float, ``float32`` to ``float64``. Integers and ``float64`` to ``float32`` are
accepted as well (they round to float32 precision), because clients that speak JSON cannot send a
float32: every JSON number arrives as int64 or float64, and refusing them would make float32 models
(ONNX, mostly) unusable over HTTP. A float32 model computes in float32 anyway, so the rounding is
the one it would do itself. What is never accepted is a change of kind that loses the value: a
float where an integer is expected (``1.5`` is not an int), and booleans, strings and datetimes
only match themselves: ``True`` is not ``1.0`` to a model that never saw a boolean.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype

from modelyard.domain.models import DataType

_INTEGERS = (DataType.INT32, DataType.INT64)
_FLOATS = (DataType.FLOAT32, DataType.FLOAT64)

_SAFE_CASTS: dict[DataType, frozenset[DataType]] = {
    DataType.INT32: frozenset({DataType.INT64, *_FLOATS}),
    DataType.INT64: frozenset(_FLOATS),
    DataType.FLOAT32: frozenset({DataType.FLOAT64}),
    DataType.FLOAT64: frozenset({DataType.FLOAT32}),
}

_NUMPY_TARGET: dict[DataType, np.dtype[np.generic]] = {
    DataType.BOOLEAN: np.dtype(np.bool_),
    DataType.INT32: np.dtype(np.int32),
    DataType.INT64: np.dtype(np.int64),
    DataType.FLOAT32: np.dtype(np.float32),
    DataType.FLOAT64: np.dtype(np.float64),
}

_NULLABLE_TARGET: dict[DataType, str] = {
    DataType.BOOLEAN: "boolean",
    DataType.INT32: "Int32",
    DataType.INT64: "Int64",
    DataType.FLOAT32: "Float32",
    DataType.FLOAT64: "Float64",
}


def numpy_target(target: DataType) -> np.dtype[np.generic] | None:
    """The plain numpy dtype a model sees for ``target`` (``None`` for strings and datetimes)."""
    return _NUMPY_TARGET.get(target)


def classify(series: pd.Series) -> DataType | None:
    """The signature type of a column, or ``None`` when it has none (mixed objects, uint64, ...)."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return classify(pd.Series(dtype.categories))
    if isinstance(dtype, pd.StringDtype):
        return DataType.STRING
    if isinstance(dtype, pd.DatetimeTZDtype) or dtype.kind == "M":
        return DataType.DATETIME
    if dtype == np.dtype(object):
        return _classify_objects(series)
    numpy_dtype = _numpy_equivalent(dtype)
    if numpy_dtype is None:
        return None
    return _classify_numpy(numpy_dtype)


def can_cast(source: DataType, target: DataType) -> bool:
    """Whether a column of type ``source`` may be fed where ``target`` is expected."""
    return source is target or target in _SAFE_CASTS.get(source, frozenset())


def conforms(series: pd.Series, target: DataType) -> bool:
    """Whether the column is already stored as the model saw it in training (no cast needed).

    Strings and datetimes conform in any of their representations: models and encoders treat
    ``object`` strings and pandas ``str`` alike, and a datetime's unit is not something a model sees.
    """
    if target in (DataType.STRING, DataType.DATETIME):
        return classify(series) is target
    dtype = series.dtype
    return dtype == _NUMPY_TARGET[target] or (
        isinstance(dtype, pd.api.extensions.ExtensionDtype) and str(dtype) == _NULLABLE_TARGET[target]
    )


def cast(series: pd.Series, target: DataType) -> pd.Series:
    """Convert a column that ``can_cast`` to ``target`` into the model's training dtype.

    Missing values need a home: floats hold them as NaN, integers and booleans in pandas' nullable
    dtypes; without missing values the plain NumPy dtype is used.
    """
    if target in (DataType.STRING, DataType.DATETIME) or conforms(series, target):
        return series
    if target in _FLOATS or not series.hasnans:
        return series.astype(_NUMPY_TARGET[target])
    return series.astype(_NULLABLE_TARGET[target])


def may_cast_values(source: DataType, target: DataType) -> bool:
    """Whether ``cast_values`` may accept a ``source`` column for ``target``, depending on its values."""
    return (source in _FLOATS and target in _INTEGERS) or (source, target) == (DataType.STRING, DataType.DATETIME)


def cast_values(series: pd.Series, source: DataType, target: DataType) -> pd.Series | None:
    """The column converted where the type alone is not safe but every value is; else ``None``.

    Two conversions JSON clients need: whole-number floats to integers (JSON has no integer type
    for a column with a ``null``, so pandas reads ``[1, null]`` as float64) and ISO 8601 strings
    to datetimes (JSON has no date type). Each value is checked: ``1.5``, an integer out of the
    target's range, or a string that is not an ISO 8601 date refuses the whole column.
    """
    if not may_cast_values(source, target):
        return None
    if source in _FLOATS and target in _INTEGERS:
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        present = values[~np.isnan(values)]
        bounds = np.iinfo(np.int32 if target is DataType.INT32 else np.int64)
        whole = np.all(np.isfinite(present)) and np.all(present == np.floor(present))
        if not whole or (present.size and (present.min() < bounds.min or present.max() >= bounds.max + 1)):
            return None
        return series.astype(_NULLABLE_TARGET[target] if np.isnan(values).any() else _NUMPY_TARGET[target])
    try:
        return pd.to_datetime(series, format="ISO8601")
    except (ValueError, TypeError, OverflowError):
        return None


def missing_column(target: DataType, index: pd.Index) -> pd.Series:
    """A column of ``target`` type holding only missing values, for an optional column not sent."""
    if target in _FLOATS:
        return pd.Series(np.nan, index=index, dtype=_NUMPY_TARGET[target])
    if target is DataType.STRING:
        return pd.Series([None] * len(index), index=index, dtype=object)
    if target is DataType.DATETIME:
        return pd.Series(pd.NaT, index=index, dtype="datetime64[ns]")
    return pd.Series(pd.NA, index=index, dtype=_NULLABLE_TARGET[target])


def may_hold_missing(series: pd.Series) -> bool:
    """False when the dtype cannot hold a missing value, so checking every row can be skipped."""
    return series.dtype.kind not in "biu" or isinstance(series.dtype, pd.api.extensions.ExtensionDtype)


def describe(series: pd.Series) -> str:
    """A short name of the column's type for error messages (``string``, ``float64``, ``object``)."""
    kind = classify(series)
    return kind.value if kind is not None else str(series.dtype)


def _classify_objects(series: pd.Series) -> DataType | None:
    inferred = infer_dtype(series, skipna=True)
    if inferred in ("string", "empty"):
        return DataType.STRING
    if inferred == "boolean":
        return DataType.BOOLEAN
    if inferred in ("datetime", "datetime64"):
        return DataType.DATETIME
    return None


def _numpy_equivalent(dtype: object) -> np.dtype[np.generic] | None:
    if isinstance(dtype, np.dtype):
        return dtype
    numpy_dtype = getattr(dtype, "numpy_dtype", None)  # Int64, Float32, boolean, int64[pyarrow]
    return numpy_dtype if isinstance(numpy_dtype, np.dtype) else None


def _classify_numpy(dtype: np.dtype[np.generic]) -> DataType | None:
    if dtype.kind == "b":
        return DataType.BOOLEAN
    if dtype.kind == "i":
        return DataType.INT32 if dtype.itemsize <= 4 else DataType.INT64
    if dtype.kind == "u":
        if dtype.itemsize <= 2:
            return DataType.INT32
        return DataType.INT64 if dtype.itemsize == 4 else None
    if dtype.kind == "f":
        return DataType.FLOAT32 if dtype.itemsize <= 4 else DataType.FLOAT64
    return None
