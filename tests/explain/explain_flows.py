"""A train -> register -> explain pipeline for the built-in explain step's test."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.ensemble import GradientBoostingClassifier

from modelyard.pipelines import pipeline, step
from modelyard.pipelines.explanation import explain_model
from modelyard.pipelines.gates import register


@step
def make_data(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"x1": rng.normal(size=rows), "x2": rng.normal(size=rows), "x3": rng.normal(size=rows)})
    frame["y"] = (2 * frame["x1"] + 0.2 * frame["x2"] > 0).astype("int64")
    return frame


@step
def fit(frame: pd.DataFrame) -> GradientBoostingClassifier:
    return GradientBoostingClassifier(n_estimators=20, random_state=0).fit(frame[["x1", "x2", "x3"]], frame["y"])


@pipeline
def trained_and_explained(rows: int = 300) -> None:
    data = make_data(rows)
    version = register(fit(data), name="risk")
    explain_model(version, data)
