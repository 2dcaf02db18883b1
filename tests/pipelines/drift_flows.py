"""A make -> validate (with drift against a reference version) -> fit pipeline for the drift tests.

``reference`` is a pipeline parameter (the test logs the reference version first, so its digest
is only known then); ``shift`` moves ``x1``'s mean and ``share_a`` sets how often ``seg`` is "a"
(0.5 in the reference).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from modelyard.pipelines import pipeline, step
from modelyard.pipelines.validation import ColumnExpectation, DataExpectations, DriftExpectation, validate_data


def sample(rows: int, seed: int, shift: float = 0.0, share_a: float = 0.5) -> pd.DataFrame:
    """Rows of the reference distribution, optionally with ``x1`` shifted and ``seg``'s shares moved."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(loc=shift, size=rows)
    x2 = rng.normal(size=rows)
    return pd.DataFrame(
        {
            "x1": x1,
            "x2": x2,
            "seg": np.where(rng.random(rows) < share_a, "a", "b"),
            "y": (x1 + x2 > shift).astype("int64"),
        }
    )


def expectations(reference: str) -> DataExpectations:
    return DataExpectations(
        columns=(
            ColumnExpectation(name="x1", dtype="float"),
            ColumnExpectation(name="x2", dtype="float"),
            ColumnExpectation(name="seg", dtype="str", allowed=("a", "b")),
        ),
        min_rows=10,
        drift=DriftExpectation(reference=reference, columns=("x1", "x2", "seg")),
    )


@step
def make_sample(rows: int, seed: int, shift: float, share_a: float) -> pd.DataFrame:
    return sample(rows, seed, shift, share_a)


@step
def fit_sample(frame: pd.DataFrame) -> LogisticRegression:
    return LogisticRegression().fit(frame[["x1", "x2"]], frame["y"])


@pipeline
def drift_checked(reference: str, rows: int = 1000, shift: float = 0.0, share_a: float = 0.5) -> None:
    fit_sample(validate_data(make_sample(rows, 7, shift, share_a), expectations(reference)))
