"""Body shapes to DataFrames, shared by the protocols; every malformed shape is ``InvalidInput``.

Rows of numbers only (the usual JSON body) stay an array (``rows.Rows``) until something needs
the frame: see ``rows.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from modelyard.errors import InvalidInput
from modelyard.models import ModelSignature
from modelyard.serving.labels import fast as fast_labels
from modelyard.serving.rows import Inputs, Rows

_SCALARS = (str, int, float, bool, type(None))


def from_records(records: Any, *, what: str = "records") -> Inputs:
    """Rows (a frame) from a non-empty list of JSON objects with scalar values."""
    if not isinstance(records, list):
        raise InvalidInput(f"{what} must be a list of JSON objects, got {_kind(records)}")
    if not records:
        raise InvalidInput(f"{what} is empty; send at least one row")
    first = records[0]
    if not isinstance(first, dict):
        raise InvalidInput(f"{what}[0] must be a JSON object, got {_kind(first)}")
    keys = list(first)
    rows: list[list[Any]] = []
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise InvalidInput(f"{what}[{index}] must be a JSON object, got {_kind(record)}")
        if record.keys() != first.keys():
            missing = sorted(set(keys) - set(record))
            extra = sorted(set(record) - set(keys))
            raise InvalidInput(
                f"{what}[{index}] has different fields from {what}[0] (missing {missing}, extra {extra})",
                row=index,
            )
        rows.append([record[k] for k in keys])
    return _frame(rows, keys, what)


def from_rows(rows: Any, columns: Any, *, what: str) -> Inputs:
    """Rows (a frame) from a list of equally long lists and their column names."""
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise InvalidInput(f"{what} columns must be a list of strings")
    if not isinstance(rows, list) or not rows:
        raise InvalidInput(f"{what} data must be a non-empty list of rows")
    for index, row in enumerate(rows):
        if not isinstance(row, list):
            raise InvalidInput(f"{what} row {index} must be a list, got {_kind(row)}")
        if len(row) != len(columns):
            raise InvalidInput(f"{what} row {index} has {len(row)} values for {len(columns)} columns", row=index)
    return _frame(rows, columns, what)


def from_columns(columns: Any, *, what: str) -> pd.DataFrame:
    """A frame from a JSON object of equally long lists (column format)."""
    if not isinstance(columns, dict) or not columns:
        raise InvalidInput(f"{what} must be a non-empty JSON object of columns")
    lengths = set()
    for name, values in columns.items():
        if not isinstance(values, list):
            values = [values]
            columns[name] = values
        lengths.add(len(values))
        _check_scalars(values, f"{what} column {name!r}", column=name)
    if len(lengths) != 1:
        raise InvalidInput(f"{what} columns have different lengths: {sorted(lengths)}")
    return pd.DataFrame(columns)


def from_matrix(rows: Any, signature: ModelSignature | None, *, what: str) -> Inputs:
    """Unnamed rows (lists) named after the signature's columns, in order."""
    if signature is None:
        raise InvalidInput(f"{what} as unnamed rows needs a model with a signature; send named columns")
    return from_rows(rows, list(signature.input_names), what=what)


def _frame(rows: list[list[Any]], columns: list[str], what: str) -> Inputs:
    if _all_floats(rows):  # the common JSON body: every value a float, so one float64 array
        return Rows(np.array(rows, dtype=np.float64), tuple(columns))
    labels = fast_labels(columns)
    for index, row in enumerate(rows):
        for column, value in zip(columns, row, strict=True):
            if not isinstance(value, _SCALARS):
                raise InvalidInput(
                    f"{what} row {index} field {column!r} is {_kind(value)}; values must be numbers, strings, "
                    "booleans or null",
                    column=column,
                    row=index,
                )
    return pd.DataFrame(rows, columns=labels)


def _all_floats(rows: list[list[Any]]) -> bool:
    return all(type(v) is float for row in rows for v in row)


def _check_scalars(values: list[Any], what: str, *, column: str) -> None:
    for index, value in enumerate(values):
        if not isinstance(value, _SCALARS):
            raise InvalidInput(f"{what} row {index} is {_kind(value)}; expected a scalar", column=column, row=index)


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", type(None): "null", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )
