"""Input examples: the accepted shapes, normalised to a DataFrame, and their file in a model directory.

An example is stored next to the model so a reader can see (and a server can smoke-test) a valid
request without the training data. Parquet keeps every dtype the signature was inferred from; an
example Parquet cannot hold (mixed-type object columns) falls back to JSON in pandas' ``split``
orientation, which keeps column order.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa

from modelyard.errors import InvalidInput

InputExample: TypeAlias = pd.DataFrame | np.ndarray | Mapping[str, Any] | list[dict[str, Any]]
"""What ``infer_signature`` and ``save_model`` accept as an example of the model's input."""

PARQUET_NAME = "input_example.parquet"
JSON_NAME = "input_example.json"


def as_frame(example: InputExample) -> pd.DataFrame:
    """The example as a DataFrame with string column labels.

    A 2-D array becomes columns ``"0"``, ``"1"``, ... (the labels ``pd.DataFrame(array)`` gives,
    as strings); a dict maps column names to values or to one value each (a single row); a list of
    dicts is one dict per row.
    """
    if isinstance(example, pd.DataFrame):
        frame = example
    elif isinstance(example, np.ndarray):
        if example.ndim != 2:
            raise InvalidInput(
                f"an array input example must be 2-D (rows x columns), got {example.ndim}-D; "
                "reshape it, or pass a DataFrame"
            )
        frame = pd.DataFrame(example)
    elif isinstance(example, Mapping):
        values = dict(example)
        scalars = all(np.ndim(v) == 0 for v in values.values())
        frame = pd.DataFrame([values]) if scalars else pd.DataFrame(values)
    elif isinstance(example, list) and example and all(isinstance(row, Mapping) for row in example):
        frame = pd.DataFrame.from_records(example)
    else:
        raise InvalidInput(
            "an input example must be a DataFrame, a 2-D NumPy array, a dict of columns or a "
            f"non-empty list of row dicts, got {type(example).__name__}"
        )
    if frame.columns.empty:
        raise InvalidInput("the input example has no columns")
    labels = [str(label) for label in frame.columns]
    if len(set(labels)) != len(labels):
        raise InvalidInput(f"the input example has duplicate column names: {labels}")
    if list(frame.columns) != labels:
        frame = frame.set_axis(labels, axis="columns")
    return frame


def write_input_example(frame: pd.DataFrame, directory: Path) -> str:
    """Write the example into ``directory``; returns the file name (relative to it)."""
    try:
        frame.to_parquet(directory / PARQUET_NAME, index=False)
        return PARQUET_NAME
    except (pa.ArrowException, TypeError, ValueError):
        (directory / PARQUET_NAME).unlink(missing_ok=True)
    frame.to_json(directory / JSON_NAME, orient="split", index=False, date_format="iso")
    return JSON_NAME


def read_input_example(file: Path) -> pd.DataFrame:
    """Read an example written by ``write_input_example``."""
    if file.suffix == ".parquet":
        return pd.read_parquet(file)
    return pd.read_json(file, orient="split")
