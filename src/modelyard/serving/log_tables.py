"""The inference log's record side: a segment's table built from ``ServedRequest`` records.

What the writer does with requests that did not fit ``log_columns``' column arrays (failures,
frames from CSV or OIP, strings, multi-output answers): the same columns, types and values as
``log_columns.block_table`` gives for the same requests (the layout is ``inference_log``'s).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from modelyard.serving.log_columns import WIDE, wide_prediction
from modelyard.serving.requests_log import ServedRequest
from modelyard.serving.stacking import stack

INPUT_PREFIX = "input."
_NO_ROW = pd.DataFrame(index=pd.RangeIndex(1))  # the one all-null input row of a request never parsed


def build_table(records: Sequence[ServedRequest], probabilities: Sequence[np.ndarray | None]) -> pa.Table:
    """The Parquet table of ``records`` in the log's schema (see the module docstring).

    Columns are built from arrays, not row by row: the request-level values are read once per
    request and repeated per input row by index (``take``), the inputs are stacked in one copy
    (``stacking.stack``), and numeric predictions and probabilities are concatenated. The writer
    thread then spends its time in NumPy and Arrow with the GIL released, not in Python holding it
    while the event loop waits to answer the next request.
    """
    counts = row_counts(records)
    total = int(counts.sum())
    index = None if total == len(records) and bool((counts == 1).all()) else np.repeat(np.arange(len(records)), counts)

    def repeat(values: list[Any], kind: pa.DataType) -> pa.Array:
        array = pa.array(values, kind)
        return array if index is None else array.take(pa.array(index))

    starts = np.cumsum(counts) - counts
    columns: dict[str, pa.Array] = {
        "request_id": repeat([r.request_id for r in records], pa.string()),
        "row": pa.array((np.arange(total) - np.repeat(starts, counts)).astype(np.int32), pa.int32()),
        "time_ms": repeat([r.time_ms for r in records], pa.int64()),
        "deployment": repeat([r.deployment for r in records], pa.string()),
        "variant": repeat([r.variant for r in records], pa.string()),
        "model_version": repeat([r.model_version for r in records], pa.string()),
    }
    frames = [_NO_ROW if r.failed and len(r.inputs) == 0 else r.inputs for r in records]
    inputs = stack(frames)
    for name in inputs.columns:
        columns[f"{INPUT_PREFIX}{name}"] = _arrow(inputs[name])
    columns["prediction"] = _prediction_column(records, counts)
    columns["probability"] = _probability_column(probabilities, counts)
    columns["latency_ms"] = repeat([float(r.latency_ms) for r in records], pa.float64())
    columns["status"] = repeat([r.status for r in records], pa.int32())
    columns["error"] = repeat([r.error for r in records], pa.string())
    return pa.table(columns)


def row_counts(records: Sequence[ServedRequest]) -> np.ndarray:
    """Log rows per record: one per input row; a failure keeps one row even without inputs."""
    return np.fromiter(
        (max(len(r.inputs), 1) if r.failed else len(r.inputs) for r in records), dtype=np.int64, count=len(records)
    )


def _prediction_column(records: Sequence[ServedRequest], counts: np.ndarray) -> pa.Array:
    """The ``prediction`` column: one concatenation when every answer is a numeric vector of its
    request's length (what ``_rows`` would give, value for value), else row by row."""
    blocks = _numeric_predictions(records, counts)
    if blocks is not None:
        return pa.array(np.concatenate(blocks), from_pandas=True)
    total = int(counts.sum())
    predictions = [
        v for r, n in zip(records, counts, strict=True) for v in ([None] * n if r.failed else _rows(r.prediction, n))
    ]
    return _arrow(pd.Series(predictions, dtype=object) if total else pd.Series([], dtype=float))


def _numeric_predictions(records: Sequence[ServedRequest], counts: np.ndarray) -> list[np.ndarray] | None:
    """Each answer as a 1-D array of one kind (widened as ``.item()`` widens), or ``None``."""
    kind: str | None = None
    blocks: list[np.ndarray] = []
    for record, n in zip(records, counts, strict=True):
        values = None if record.failed else wide_prediction(record.prediction, int(n))
        if values is None:
            return None
        if kind is None:
            kind = values.dtype.kind
        elif WIDE[values.dtype.kind] != WIDE[kind]:
            return None
        blocks.append(values.astype(WIDE[kind], copy=False))
    return blocks if blocks else None


def _probability_column(probabilities: Sequence[np.ndarray | None], counts: np.ndarray) -> pa.Array:
    """``list<double>`` per row: one flat array and offsets when every request has probabilities
    of the same width, else row by row (nulls for requests without)."""
    arrays = [p for p in probabilities if p is not None]
    if arrays and len(arrays) == len(probabilities):
        width = {a.shape[1] if a.ndim == 2 else -1 for a in arrays}
        if len(width) == 1 and min(width) > 0 and all(len(a) == n for a, n in zip(arrays, counts, strict=True)):
            flat = np.concatenate(arrays).astype(np.float64, copy=False).reshape(-1)
            k = width.pop()
            offsets = np.arange(0, flat.size + 1, k, dtype=np.int32)
            return pa.ListArray.from_arrays(pa.array(offsets), pa.array(flat, pa.float64()))
    proba_rows: list[list[float] | None] = []
    for proba, n in zip(probabilities, counts, strict=True):
        proba_rows.extend([None] * int(n) if proba is None else [list(map(float, row)) for row in proba])
    return pa.array(proba_rows, pa.list_(pa.float64()))


def _rows(prediction: Any, n: int) -> list[Any]:
    """One value per input row: scalars for 1-D answers, lists for multi-output ones."""
    if isinstance(prediction, pd.DataFrame):
        values = prediction.to_numpy()
    else:
        values = np.asarray(prediction, dtype=object if isinstance(prediction, list) else None)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if len(values) != n:
        return [None] * n  # a model answering a different number of rows: keep the request, not a guess
    if values.ndim == 1:
        return [v.item() if isinstance(v, np.generic) else v for v in values]
    return values.tolist()  # type: ignore[no-any-return]


def _arrow(series: pd.Series) -> pa.Array:
    """``series`` as an Arrow array; values of mixed kinds fall back to their string form."""
    try:
        return pa.Array.from_pandas(series)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if _missing(v) else str(v) for v in series], pa.string())


def _missing(value: Any) -> bool:
    """A missing value of an object column (``None``, ``NaN``, ``pd.NA``): stays null, not the text "nan"."""
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)
