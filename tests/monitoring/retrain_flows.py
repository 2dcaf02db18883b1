"""The pipelines of the retraining-loop test: the first training of the champion, and the retraining
an alert runs (newest labelled data -> validate -> train -> register -> gate -> canary).

The world they model: two features, ``x1`` and ``x2``, and a label. Before the change
(``world(..., shifted=False)``) ``x1`` is centred on 0 and the label is ``x1 + x2 > 0``; after it
``x1`` is centred on 2 and the label follows another rule, ``x1 - x2 > 2``, so a model trained on
the old data is poor on the new data and a retrained one is good: the gate has something to judge.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from modelyard.domain.serving import CanarySLO
from modelyard.pipelines import StepContext, deploy_canary, pipeline, step
from modelyard.pipelines.gates import GateCriteria, Threshold, gate, register
from modelyard.pipelines.validation import ColumnExpectation, DataExpectations, validate_data

FEATURES = ("x1", "x2")
TARGET = "label"

EXPECTATIONS = DataExpectations(
    columns=(
        ColumnExpectation(name="x1", dtype="float", min=-10, max=10),
        ColumnExpectation(name="x2", dtype="float", min=-10, max=10),
        ColumnExpectation(name=TARGET, dtype="int", allowed=(0, 1)),
    ),
    min_rows=200,
)

CRITERIA = GateCriteria(
    thresholds=(Threshold(metric="roc_auc", min=0.8),),
    compare=("accuracy", "roc_auc"),
    max_regression=0.0,
)

# Short on purpose: the test's server judges the canary after 20 of its answers and 2 seconds.
CANARY_SLO = CanarySLO(max_error_rate=0.05, min_requests=20, window_s=2.0)


def world(rows: int, seed: int, *, shifted: bool) -> pd.DataFrame:
    """Labelled rows of the world before (``shifted=False``) or after the change."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(2.0 if shifted else 0.0, 1.0, rows)
    x2 = rng.normal(0.0, 1.0, rows)
    label = (x1 - x2 > 2.0) if shifted else (x1 + x2 > 0.0)
    return pd.DataFrame({"x1": x1, "x2": x2, TARGET: label.astype("int64")})


@step(cache=False)
def load_labelled(dataset: str, context: StepContext) -> pd.DataFrame:
    """The dataset version ``dataset`` (``datasets:/name@digest``), recorded as this run's input.

    Not cached: the input edge dataset version -> run is what lineage follows to the data a model
    was trained on, so every pipeline run records it."""
    context.client.backend.datasets.add_input(dataset, context.run_id)
    return context.client.backend.datasets.load(dataset)


@step
def split(frame: pd.DataFrame, part: str) -> pd.DataFrame:
    """A fixed 70/30 split: ``part`` is ``train`` or ``holdout``."""
    rng = np.random.default_rng(0)
    in_train = rng.random(len(frame)) < 0.7
    chosen = frame[in_train] if part == "train" else frame[~in_train]
    return chosen.reset_index(drop=True)


@step
def fit(frame: pd.DataFrame) -> Pipeline:
    features = ColumnTransformer([("num", "passthrough", list(FEATURES))], remainder="drop")
    model = Pipeline([("features", features), ("model", LogisticRegression())])
    return model.fit(frame, frame[TARGET])


@pipeline
def first_training(data: str, model_name: str) -> None:
    """The champion's training: data -> validate -> train -> register (no gate: nothing to beat yet)."""
    frame = validate_data(load_labelled(data), EXPECTATIONS)
    register(fit(split(frame, part="train")), name=model_name)


@pipeline
def retrain(data: str, model_name: str, deployment: str) -> None:
    """What the drift alert runs: newest data -> validate -> train -> register -> gate -> canary."""
    frame = validate_data(load_labelled(data), EXPECTATIONS)
    version = register(fit(split(frame, part="train")), name=model_name)
    verdict = gate(version, split(frame, part="holdout"), target=TARGET, criteria=CRITERIA)
    deploy_canary(verdict, deployment=deployment, weight=50.0, slo=CANARY_SLO)
