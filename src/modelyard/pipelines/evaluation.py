"""Evaluation on a holdout: the task's metrics overall and per slice (per value of a column).

Metrics are computed with numpy here rather than scikit-learn, which is an optional extra of
modelyard: classification gets accuracy, F1 (binary: of the positive class; else macro) and, for
binary models with ``predict_proba``, ROC AUC (the Mann-Whitney rank statistic); regression gets
RMSE, MAE and R². Slices catch a model that is good on average but bad for one segment; sensitive
attributes add the fairness figures (group metrics and gaps) the validation gate can bound.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from modelyard.errors import InvalidInput
from modelyard.explain.fairness import fairness_report
from modelyard.models import Predictor
from modelyard.pipelines.steps import step

TASKS = ("classification", "regression")
LOWER_IS_BETTER = frozenset({"rmse", "mae", "log_loss"})


def evaluate_model(
    model: Predictor,
    holdout: pd.DataFrame,
    *,
    target: str,
    task: str = "classification",
    slice_by: Sequence[str] = (),
    sensitive: Sequence[str] = (),
    positive_label: Any = None,
) -> dict[str, Any]:
    """``{"rows", <metric>: value, ..., "slices": {column: {value: {<metric>: value, "rows": n}}}}``.

    With ``sensitive`` columns (which need not be model inputs), a binary classifier's result also
    has ``"fairness"``: per-group selection rate, TPR, FPR and accuracy, and the gaps between groups
    (``modelyard.explain.fairness``; ``FairnessReport.to_dict()``).
    """
    if task not in TASKS:
        raise InvalidInput(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    missing = [c for c in (target, *slice_by, *sensitive) if c not in holdout.columns]
    if missing:
        raise InvalidInput(f"the holdout has no column(s) {', '.join(map(repr, missing))}")
    if sensitive and task != "classification":
        raise InvalidInput("fairness metrics (sensitive=...) are for classification models")
    features = holdout.drop(columns=[target])
    features = _model_columns(model, features)
    truth = holdout[target].to_numpy()
    predicted = np.asarray(model.predict(features)).reshape(len(holdout), -1)[:, 0]
    scores = None
    if task == "classification" and model.has_predict_proba and len(np.unique(truth)) <= 2:
        proba = np.asarray(model.predict_proba(features))
        scores = proba[:, -1] if proba.ndim == 2 else proba
    result: dict[str, Any] = {"rows": len(holdout), **_metrics(task, truth, predicted, scores)}
    slices: dict[str, dict[str, dict[str, float]]] = {}
    for column in slice_by:
        slices[column] = {}
        for value in sorted(holdout[column].dropna().unique().tolist(), key=str):
            mask = (holdout[column] == value).to_numpy()
            part = _metrics(task, truth[mask], predicted[mask], None if scores is None else scores[mask])
            slices[column][str(value)] = {"rows": float(mask.sum()), **part}
    result["slices"] = slices
    if sensitive:
        report = fairness_report(truth, predicted, holdout[list(sensitive)], positive_label=positive_label)
        result["fairness"] = report.to_dict()
    return result


def _model_columns(model: Predictor, features: pd.DataFrame) -> pd.DataFrame:
    """Only the columns the model's signature names (slice columns may not be features)."""
    signature = model.signature
    inputs = getattr(signature, "inputs", None) if signature is not None else None
    names = [getattr(c, "name", None) for c in (inputs or ())]
    if names and all(isinstance(n, str) and n in features.columns for n in names):
        return features[names]
    return features


def _metrics(task: str, truth: np.ndarray, predicted: np.ndarray, scores: np.ndarray | None) -> dict[str, float]:
    if len(truth) == 0:
        return {}
    if task == "regression":
        error = predicted.astype("float64") - truth.astype("float64")
        total = float(((truth - truth.mean()) ** 2).sum())
        return {
            "rmse": float(np.sqrt((error**2).mean())),
            "mae": float(np.abs(error).mean()),
            "r2": float(1 - (error**2).sum() / total) if total > 0 else 0.0,
        }
    out = {"accuracy": float((predicted == truth).mean()), "f1": _f1(truth, predicted)}
    if scores is not None:
        auc = _auc(truth, scores)
        if auc is not None:
            out["roc_auc"] = auc
    return out


def _f1(truth: np.ndarray, predicted: np.ndarray) -> float:
    labels = np.unique(np.concatenate([truth, predicted]))
    positives = [labels.max()] if len(labels) <= 2 else list(labels)
    values = []
    for label in positives:
        tp = float(((predicted == label) & (truth == label)).sum())
        fp = float(((predicted == label) & (truth != label)).sum())
        fn = float(((predicted != label) & (truth == label)).sum())
        values.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    return float(np.mean(values))


def _auc(truth: np.ndarray, scores: np.ndarray) -> float | None:
    labels = np.unique(truth)
    if len(labels) != 2:
        return None
    positive = truth == labels.max()
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    ranks = rankdata(scores)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


@step
def evaluate(
    model: Predictor,
    holdout: pd.DataFrame,
    target: str,
    task: str = "classification",
    slice_by: tuple[str, ...] = (),
    sensitive: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Built-in step: ``evaluate_model`` on the holdout; top-level metrics are logged on the step's run."""
    return evaluate_model(model, holdout, target=target, task=task, slice_by=slice_by, sensitive=sensitive)
