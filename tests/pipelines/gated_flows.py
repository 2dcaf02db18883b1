"""A validate -> train -> register -> evaluate -> gate pipeline for the built-in step tests.

``skew`` bends the rule the training labels follow (the holdout always follows ``x1 + x2 > 0``), so
a test can make a candidate better or worse than the champion on purpose; ``corrupt`` puts
out-of-range values and an unknown segment into the training data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from modelyard.pipelines import pipeline, step
from modelyard.pipelines.evaluation import evaluate
from modelyard.pipelines.gates import GateCriteria, Threshold, gate, register
from modelyard.pipelines.validation import ColumnExpectation, DataExpectations, validate_data

EXPECTATIONS = DataExpectations(
    columns=(
        ColumnExpectation(name="x1", dtype="float", min=-10, max=10),
        ColumnExpectation(name="x2", dtype="float", min=-10, max=10, max_missing=0.05),
        ColumnExpectation(name="seg", dtype="str", allowed=("a", "b")),
        ColumnExpectation(name="y", dtype="int", allowed=(0, 1)),
    ),
    min_rows=50,
)

CRITERIA = GateCriteria(
    thresholds=(Threshold(metric="roc_auc", min=0.6),),
    compare=("accuracy", "roc_auc"),
    max_regression=0.01,
    slice_by=("seg",),
    max_slice_regression=0.05,
)


@step
def make_segments(rows: int, seed: int, skew: float, corrupt: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 2))
    frame = pd.DataFrame(
        {
            "x1": x[:, 0],
            "x2": x[:, 1],
            "seg": np.where(rng.random(rows) < 0.5, "a", "b"),
            "y": (x[:, 0] + skew * x[:, 1] > 0).astype("int64"),
        }
    )
    if corrupt:
        frame.loc[:4, "x1"] = 100.0
        frame.loc[5:7, "seg"] = "z"
    return frame


@step
def fit_segments(frame: pd.DataFrame) -> Pipeline:
    features = ColumnTransformer([("num", "passthrough", ["x1", "x2"])], remainder="drop")
    return Pipeline([("features", features), ("model", LogisticRegression())]).fit(frame, frame["y"])


@pipeline
def gated(skew: float = 1.0, corrupt: bool = False, model_name: str = "churn") -> None:
    train = validate_data(make_segments(300, 0, skew, corrupt), EXPECTATIONS)
    holdout = make_segments(200, 99, 1.0, False)
    model = fit_segments(train)
    version = register(model, name=model_name)
    evaluate(model, holdout, target="y", slice_by=("seg",))
    gate(version, holdout, target="y", criteria=CRITERIA)
