"""Pipelines whose steps return models, for the signature and input-role tests.

``fitted`` is the demo's shape: a frame with a target column is split, and a step taking ``train``
and ``holdout`` fits a scikit-learn pipeline on the training features. ``unnamed`` has a step that
states its example (``ModelOutput``) and one whose model knows no column names.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from modelyard.pipelines import ModelOutput, pipeline, step
from modelyard.pipelines.gates import register

FEATURES = ("a", "b", "c")
TARGET = "target"


@step
def make_frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, len(FEATURES)))
    frame = pd.DataFrame(x, columns=list(FEATURES))
    frame[TARGET] = (x[:, 0] - x[:, 2] > 0).astype("int64")
    return frame


@step
def part(frame: pd.DataFrame, first: bool) -> pd.DataFrame:
    half = len(frame) // 2
    return frame.iloc[:half] if first else frame.iloc[half:]


@step
def fit_pipeline(train: pd.DataFrame, holdout: pd.DataFrame) -> Pipeline:
    model = make_pipeline(StandardScaler(), LogisticRegression())
    model.fit(train.drop(columns=[TARGET]), train[TARGET])
    assert model.score(holdout.drop(columns=[TARGET]), holdout[TARGET]) > 0.5
    return model


@step
def fit_stated(frame: pd.DataFrame) -> ModelOutput:
    """Fitted on an array (so the model names no columns); the step states the example itself."""
    features = frame[["a", "c"]]
    model = LogisticRegression().fit(features.to_numpy(), frame[TARGET])
    return ModelOutput(model, input_example=features.head(3))


@step
def fit_unnamed(frame: pd.DataFrame) -> LogisticRegression:
    return LogisticRegression().fit(frame[list(FEATURES)].to_numpy(), frame[TARGET])


@pipeline
def fitted(model_name: str = "sig-model") -> None:
    frame = make_frame(200, seed=3)
    model = fit_pipeline(part(frame, first=True), part(frame, first=False))
    register(model, name=model_name)


@pipeline
def unnamed() -> None:
    frame = make_frame(120, seed=4)
    fit_stated(frame)
    fit_unnamed(frame)
