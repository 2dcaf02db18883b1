"""The demo's training pipeline: load a dataset version, validate it, train six candidates, pick the
best, register it and gate it against ``@champion``; given a deployment, hand a blessed model to
serving as a canary.

It is a module of its own (not part of ``demo.py``) because steps are found again by reference:
an alert rule's action names this pipeline as ``breast_cancer_pipeline:training``, and the
retraining it starts runs the very same steps on the newest data.

The six training steps depend on nothing but the two splits, so a parallel executor could run
them side by side; they log metrics, a figure and feature importances to their own runs (they take
a ``context``), and such steps run in the orchestrating process, one at a time.

    load_data ─ validate_data ─┬─ train_split ───┬─ train-<candidate> (x6) ─ pick_best ─ register ─┐
                               └─ holdout_split ─┴───────────────────────────────────────────── gate ─ [deploy_canary]
"""

from __future__ import annotations

import time
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display needed

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import ConfusionMatrixDisplay, accuracy_score, f1_score, log_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from modelyard.domain.serving import CanarySLO
from modelyard.errors import InvalidInput
from modelyard.models import Predictor
from modelyard.pipelines import StepContext, pipeline, step
from modelyard.pipelines.deploy import deploy_canary
from modelyard.pipelines.gates import GateCriteria, Threshold, gate, register
from modelyard.pipelines.validation import ColumnExpectation, DataExpectations, validate_data
from modelyard.tracking import make_metric
from modelyard.uris import parse_run_uri

MODEL_NAME = "breast-cancer"
TARGET = "target"
FEATURES = tuple(str(name) for name in load_breast_cancer().feature_names)
TEST_SIZE = 0.25
SEED = 42

# Every feature is a non-negative measurement of a cell nucleus, never missing; the label is 0/1.
EXPECTATIONS = DataExpectations(
    columns=(
        *(ColumnExpectation(name=name, dtype="float", min=0.0) for name in FEATURES),
        ColumnExpectation(name=TARGET, dtype="int", allowed=(0, 1)),
    ),
    min_rows=200,
    strict=True,
)

# Blessed: good in absolute terms, and not worse than the champion on this pipeline's holdout.
CRITERIA = GateCriteria(
    thresholds=(Threshold(metric="roc_auc", min=0.95), Threshold(metric="accuracy", min=0.9)),
    compare=("roc_auc", "accuracy"),
    max_regression=0.005,
)

# A short canary: judged after 30 requests and 3 s, rolled back on errors or slow answers. No
# disagreement limit: a model retrained for shifted data is meant to answer differently.
CANARY_SLO = CanarySLO(max_error_rate=0.01, max_p95_ms=500.0, min_requests=30, window_s=3.0)

CANDIDATES: dict[str, dict[str, Any]] = {
    "logreg_c0_1": {"model": "logreg", "C": 0.1},
    "logreg_c1": {"model": "logreg", "C": 1.0},
    "knn_15": {"model": "knn", "n_neighbors": 15},
    "rf_100_d4": {"model": "rf", "n_estimators": 100, "max_depth": 4},
    "rf_300": {"model": "rf", "n_estimators": 300, "max_depth": None},
    "gbm_0_1": {"model": "gbm", "learning_rate": 0.1, "n_estimators": 100},
}


def build(spec: dict[str, Any]) -> Any:
    """The unfitted scikit-learn estimator a candidate's spec describes (fixed seeds)."""
    kind = spec["model"]
    if kind == "logreg":
        return make_pipeline(StandardScaler(), LogisticRegression(C=spec["C"], max_iter=2000))
    if kind == "knn":
        return make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=spec["n_neighbors"]))
    if kind == "rf":
        return RandomForestClassifier(n_estimators=spec["n_estimators"], max_depth=spec["max_depth"], random_state=0)
    if kind == "gbm":
        return GradientBoostingClassifier(
            learning_rate=spec["learning_rate"], n_estimators=spec["n_estimators"], random_state=0
        )
    raise InvalidInput(f"unknown candidate model {kind!r}")


@step
def load_data(dataset: str, context: StepContext) -> pd.DataFrame:
    """The dataset version ``dataset`` (``datasets:/NAME@DIGEST``), recorded as this run's input."""
    backend = context.client.backend
    backend.datasets.add_input(dataset, context.run_id)
    return backend.datasets.load(dataset)


def _split(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    train, holdout = train_test_split(frame, test_size=TEST_SIZE, random_state=SEED, stratify=frame[TARGET])
    return train.reset_index(drop=True), holdout.reset_index(drop=True)


@step
def train_split(frame: pd.DataFrame) -> pd.DataFrame:
    return _split(frame)[0]


@step
def holdout_split(frame: pd.DataFrame) -> pd.DataFrame:
    return _split(frame)[1]


def train_candidate(
    train: pd.DataFrame, holdout: pd.DataFrame, candidate: str, spec: dict[str, Any], context: StepContext
) -> Any:
    """Fit one candidate; log its holdout metrics, a learning curve (boosting), its confusion matrix
    and feature importances on the step's run; return the model (stored as the step's output)."""
    client, run_id = context.client, context.run_id
    x_train, y_train = train.drop(columns=[TARGET]), train[TARGET]
    x_test, y_test = holdout.drop(columns=[TARGET]), holdout[TARGET]
    client.log_params(run_id, spec)
    client.set_tag(run_id, "family", spec["model"])
    model = build(spec)
    started = time.perf_counter()
    model.fit(x_train, y_train)
    curve = []
    if hasattr(model, "staged_predict_proba"):  # one point per boosting stage
        curve = [
            make_metric("val_log_loss", log_loss(y_test, proba), step=i)
            for i, proba in enumerate(model.staged_predict_proba(x_test))
        ]
    proba = model.predict_proba(x_test)[:, 1]
    predicted = (proba >= 0.5).astype(int)
    metrics = {
        "fit_seconds": time.perf_counter() - started,
        "accuracy": accuracy_score(y_test, predicted),
        "f1": f1_score(y_test, predicted),
        "roc_auc": roc_auc_score(y_test, proba),
        "log_loss": log_loss(y_test, proba),
    }
    client.log_batch(run_id, metrics=[*curve, *(make_metric(k, float(v)) for k, v in metrics.items())])
    figure, axis = plt.subplots(figsize=(4, 4))
    ConfusionMatrixDisplay.from_predictions(y_test, predicted, ax=axis, colorbar=False)
    axis.set_title(candidate)
    client.log_figure(run_id, figure, "plots/confusion_matrix.png")
    plt.close(figure)
    if hasattr(model, "feature_importances_"):
        importances = dict(zip(x_train.columns, np.round(model.feature_importances_, 5).tolist(), strict=True))
        client.log_dict(run_id, dict(sorted(importances.items(), key=lambda kv: -kv[1])), "feature_importances.json")
    return model


# One step per candidate, so each has its own name in the run (and its own cache entry).
TRAINERS = {key: step(name=f"train-{key}")(train_candidate) for key in CANDIDATES}


@step
def pick_best(
    context: StepContext,
    logreg_c0_1: Predictor,
    logreg_c1: Predictor,
    knn_15: Predictor,
    rf_100_d4: Predictor,
    rf_300: Predictor,
    gbm_0_1: Predictor,
) -> Predictor:
    """The candidate with the best holdout ROC AUC (log loss breaks ties), read from the training
    runs' metrics; returned as is, so it stays the model its training step stored."""
    models = {
        "logreg_c0_1": logreg_c0_1,
        "logreg_c1": logreg_c1,
        "knn_15": knn_15,
        "rf_100_d4": rf_100_d4,
        "rf_300": rf_300,
        "gbm_0_1": gbm_0_1,
    }
    ranking = []
    for key in models:
        run = context.client.get_run(parse_run_uri(context.inputs[key]).run_id)
        metrics = run.data.metrics
        ranking.append(
            {"candidate": key, "run_id": run.info.run_id, **{m: metrics[m] for m in ("roc_auc", "log_loss")}}
        )
    ranking.sort(key=lambda r: (-r["roc_auc"], r["log_loss"]))
    context.client.log_dict(context.run_id, ranking, "ranking.json")
    context.client.set_tag(context.run_id, "best", ranking[0]["candidate"])
    return models[ranking[0]["candidate"]]


@pipeline(name="breast-cancer-training")
def training(dataset: str, deployment: str = "", model_name: str = MODEL_NAME, canary_weight: float = 50.0) -> None:
    """Train on ``dataset``; with ``deployment``, a blessed model becomes its canary (the retraining loop)."""
    frame = validate_data(load_data(dataset), EXPECTATIONS)
    train, holdout = train_split(frame), holdout_split(frame)
    models = {key: TRAINERS[key](train, holdout, candidate=key, spec=spec) for key, spec in CANDIDATES.items()}
    version = register(pick_best(**models), name=model_name)
    verdict = gate(version, holdout, target=TARGET, criteria=CRITERIA)
    if deployment:
        deploy_canary(verdict, deployment, weight=canary_weight, slo=CANARY_SLO)
