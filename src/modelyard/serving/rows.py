"""A request's rows before any DataFrame: one float array and its column names.

The pandas tax: for a small tabular model, building a DataFrame per request (and the model's
library checking and converting it back to an array) cost more than the prediction. A JSON body
whose values are all numbers (the usual one) is parsed into ``Rows``: the protocols' one
``np.array`` of its rows and the names it gave. The dispatcher hands that to
``Predictor.predict_array``; the frame is built only when something needs one (``Rows.frame``):
a model that takes DataFrames, an input the array check cannot vouch for (``predict`` then refuses
or conforms it with the usual message), a sticky field, an enricher, micro-batching, a request
log listener reading ``ServedRequest.inputs``. That frame is the one the protocols built before
(same values, dtype and labels), so every path sees what it saw.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from modelyard.models.predictor import Predictor
from modelyard.serving.labels import fast as fast_labels
from modelyard.serving.stacking import stack


class Rows:
    """``values`` (2-D, one row per input row) under ``columns``; ``frame`` is built once, on demand."""

    __slots__ = ("_frame", "columns", "values")

    def __init__(self, values: np.ndarray, columns: tuple[str, ...]) -> None:
        self.values = values
        self.columns = columns
        self._frame: pd.DataFrame | None = None

    def __len__(self) -> int:
        return len(self.values)

    @property
    def frame(self) -> pd.DataFrame:
        """The DataFrame the protocols build for these rows (object labels, one block, no copy)."""
        if self._frame is None:
            self._frame = pd.DataFrame(self.values, columns=fast_labels(list(self.columns)))
        return self._frame

    def __repr__(self) -> str:
        return f"<Rows {self.values.shape[0]}x{len(self.columns)} {self.values.dtype}>"


Inputs: TypeAlias = pd.DataFrame | Rows
"""What a protocol parsed a body into: a frame, or rows that become one when needed."""


def frame_of(inputs: Inputs) -> pd.DataFrame:
    """``inputs`` as a DataFrame (built from ``Rows`` when it is not yet)."""
    return inputs.frame if isinstance(inputs, Rows) else inputs


def predict(predictor: Predictor, inputs: Inputs) -> Any:
    """``predictor``'s answer for ``inputs``: the array path when they are rows and the model takes
    them (``Predictor.predict_array``), else ``predict`` on the frame (with its checks)."""
    if isinstance(inputs, Rows):
        answer = predictor.predict_array(inputs.values, inputs.columns)
        if answer is not None:
            return answer
    return predictor.predict(frame_of(inputs))


def predict_proba(predictor: Predictor, inputs: Inputs) -> np.ndarray:
    """``predictor.predict_proba`` for ``inputs``, by the array path when it can (as ``predict``)."""
    if isinstance(inputs, Rows):
        answer = predictor.predict_proba_array(inputs.values, inputs.columns)
        if answer is not None:
            return answer
    return predictor.predict_proba(frame_of(inputs))


def stack_inputs(inputs: Sequence[Inputs]) -> Inputs:
    """Many requests' inputs as one: rows of the same columns by one array copy, else frames
    (``stacking.stack``, equal to ``pd.concat``)."""
    first = inputs[0]
    if isinstance(first, Rows) and all(isinstance(x, Rows) and x.columns == first.columns for x in inputs):
        if len(inputs) == 1:
            return first
        return Rows(np.concatenate([x.values for x in inputs if isinstance(x, Rows)]), first.columns)
    return stack([frame_of(x) for x in inputs])
