"""Pipelines for the built-in steps' tests: train -> register -> explain, and a gate bounding fairness gaps."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

from modelyard.pipelines import pipeline, step
from modelyard.pipelines.explanation import explain_model
from modelyard.pipelines.gates import GateCriteria, gate, register


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


@step
def make_people(rows: int, seed: int) -> pd.DataFrame:
    """``group`` is a sensitive attribute the model never sees; group b's feature sits lower."""
    rng = np.random.default_rng(seed)
    group = np.where(rng.random(rows) < 0.5, "a", "b")
    x1 = rng.normal(np.where(group == "a", 0.6, -0.6), 1.0)
    x2 = rng.normal(size=rows)
    y = (x1 + 0.5 * x2 + 0.8 * (group == "b") + rng.normal(0, 0.3, rows) > 0).astype("int64")
    return pd.DataFrame({"x1": x1, "x2": x2, "group": group, "y": y})


@step
def fit_people(frame: pd.DataFrame) -> LogisticRegression:
    return LogisticRegression().fit(frame[["x1", "x2"]], frame["y"])


@pipeline
def fairness_gated(max_gap: float = 0.1) -> None:
    train = make_people(600, 0)
    holdout = make_people(400, 1)
    version = register(fit_people(train), name="credit")
    gate(
        version,
        holdout,
        target="y",
        criteria=GateCriteria(
            sensitive=("group",),
            max_demographic_parity_difference=max_gap,
            min_demographic_parity_ratio=0.5,
            max_equalized_odds_difference=0.9,
        ),
    )
