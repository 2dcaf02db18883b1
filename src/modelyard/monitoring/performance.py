"""Model performance from late labels, accumulated chunk by chunk with bounded memory.

What adds up across chunks is added up, so those metrics are exact whatever the window's size:
the classifier's confusion counts (accuracy, precision, recall, F1) and the regressor's sums
(n, sum|e|, sum e^2, sum y, sum y^2 give MAE, RMSE and R^2). Both accumulators ``merge``, so a
window can be accumulated in parts (``accumulate``). ROC AUC needs the scores' ranks, so
it is computed on a uniform sample of labelled rows capped at ``max_rows`` (exact below the cap).

Conventions match scikit-learn's defaults so numbers agree with what users compute offline:
binary precision/recall/F1 are for the positive class (the larger label, i.e. ``1``/``True``);
with more than two classes they are macro averages over the labels seen; a 0/0 ratio is 0.0
(``zero_division=0``). ROC AUC is binary from the positive class's probability (or the prediction
when no probabilities were logged), multiclass one-vs-rest macro from the probability vectors.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.stats import rankdata

from modelyard.domain.monitoring import Task
from modelyard.errors import InvalidInput
from modelyard.monitoring.windows import ReservoirSample


def infer_task(predictions: pd.Series) -> Task:
    """Regression for float predictions, classification otherwise (ints, strings, booleans)."""
    values = predictions.dropna()
    if values.empty:
        return Task.CLASSIFICATION
    if pd.api.types.is_float_dtype(values.dtype):
        return Task.REGRESSION if not np.all(np.mod(values.to_numpy(dtype=float), 1) == 0) else Task.CLASSIFICATION
    return Task.CLASSIFICATION


class ClassificationAccumulator:
    """Confusion counts (exact) and a capped sample of (label, scores) for ROC AUC."""

    def __init__(self, max_rows: int = 100_000, seed: int = 0) -> None:
        self.confusion: dict[tuple[Any, Any], int] = {}
        self._auc = ReservoirSample(max_rows, seed=seed)

    def add(self, y_true: pd.Series, y_pred: pd.Series, probability: pd.Series | None = None) -> None:
        """Add the labelled rows of one chunk (rows whose label is null are skipped by the caller)."""
        pairs = pd.DataFrame({"t": y_true.to_numpy(), "p": y_pred.to_numpy()})
        for (t, p), n in pairs.value_counts(sort=False).items():
            key = (_plain(t), _plain(p))
            self.confusion[key] = self.confusion.get(key, 0) + int(n)
        sample = pd.DataFrame({"t": y_true.to_numpy(), "p": y_pred.to_numpy()})
        sample["proba"] = probability.to_numpy() if probability is not None else None
        self._auc.add(sample)

    def merge(self, other: ClassificationAccumulator) -> None:
        """Add another part's rows: confusion counts add, the ROC AUC samples merge (``ReservoirSample.merge``)."""
        for key, n in other.confusion.items():
            self.confusion[key] = self.confusion.get(key, 0) + n
        self._auc.merge(other._auc)

    @property
    def n(self) -> int:
        return sum(self.confusion.values())

    def metrics(self) -> dict[str, float]:
        if self.n == 0:
            return {}
        labels = sorted({k for pair in self.confusion for k in pair}, key=_sort_key)
        correct = sum(n for (t, p), n in self.confusion.items() if t == p)
        out = {"accuracy": correct / self.n, "labelled_rows": float(self.n)}
        true_labels = sorted({t for t, _ in self.confusion}, key=_sort_key)
        binary = len(labels) <= 2
        scored = [labels[-1]] if binary else labels
        per_label = [self._prf(label) for label in scored]
        precision, recall, f1 = (float(np.mean([x[i] for x in per_label])) for i in range(3))
        out.update(precision=precision, recall=recall, f1=f1)
        auc = self._roc_auc(true_labels)
        if auc is not None:
            out["roc_auc"] = auc
        return out

    def _prf(self, label: Any) -> tuple[float, float, float]:
        tp = self.confusion.get((label, label), 0)
        predicted = sum(n for (_, p), n in self.confusion.items() if p == label)
        actual = sum(n for (t, _), n in self.confusion.items() if t == label)
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * tp / (predicted + actual) if predicted + actual else 0.0
        return precision, recall, f1

    def _roc_auc(self, classes: list[Any]) -> float | None:
        """ROC AUC on the sample; ``None`` when one class only, or no scores to rank by."""
        frame = self._auc.frame()
        if frame.empty or len(classes) < 2:
            return None
        y = frame["t"].map(_plain)
        proba = frame["proba"]
        has_proba = proba.notna().all() and all(isinstance(v, list | np.ndarray) for v in proba)
        if len(classes) == 2:
            positive = classes[-1]
            if has_proba:
                scores = np.array([float(v[-1]) for v in proba])
            else:
                try:
                    scores = frame["p"].to_numpy(dtype=float)
                except (TypeError, ValueError):
                    return None
            return binary_auc((y == positive).to_numpy(), scores)
        if not has_proba:
            return None
        matrix = np.vstack([np.asarray(v, dtype=float) for v in proba])
        if matrix.shape[1] != len(classes):
            return None  # probabilities over classes the labels do not cover: no honest mapping
        return float(np.mean([binary_auc((y == c).to_numpy(), matrix[:, i]) for i, c in enumerate(classes)]))


def binary_auc(is_positive: npt.NDArray[np.bool_], scores: npt.NDArray[np.float64]) -> float:
    """ROC AUC as the Mann-Whitney U statistic over mid-ranks (ties count half), as scikit-learn."""
    n_pos = int(is_positive.sum())
    n_neg = is_positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    ranks = rankdata(scores)
    return float((ranks[is_positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


class RegressionAccumulator:
    """Sums that give MAE, RMSE and R^2 exactly over any number of chunks, in any grouping.

    Each chunk's sums are computed by numpy (the labels centred on the chunk's first label, so
    R^2's SST stays accurate for large labels) and then added as exact fractions, so the totals
    do not depend on how chunks were grouped or merged: two parts merged give the very numbers
    one pass over the same chunks gives.
    """

    def __init__(self) -> None:
        self.n = 0
        self.abs_error = Fraction(0)
        self.sq_error = Fraction(0)
        self.sum_y = Fraction(0)
        self.sum_y2 = Fraction(0)

    def add(self, y_true: pd.Series, y_pred: pd.Series) -> None:
        t = y_true.to_numpy(dtype=float)
        p = y_pred.to_numpy(dtype=float)
        keep = np.isfinite(t) & np.isfinite(p)
        t, p = t[keep], p[keep]
        if t.size == 0:
            return
        shift = float(t[0])
        e = t - p
        c = t - shift
        sums = [float(np.abs(e).sum()), float((e * e).sum()), float(c.sum()), float((c * c).sum())]
        if not all(math.isfinite(x) for x in sums):
            raise InvalidInput("labels or predictions too large: the regression errors overflow float64")
        abs_e, sq_e, sum_c, sum_c2 = (Fraction(x) for x in sums)
        s, k = Fraction(shift), int(t.size)
        self.n += k
        self.abs_error += abs_e
        self.sq_error += sq_e
        self.sum_y += sum_c + k * s
        self.sum_y2 += sum_c2 + 2 * s * sum_c + k * s * s

    def merge(self, other: RegressionAccumulator) -> None:
        """Add another part's rows (exact: see the class docstring)."""
        self.n += other.n
        self.abs_error += other.abs_error
        self.sq_error += other.sq_error
        self.sum_y += other.sum_y
        self.sum_y2 += other.sum_y2

    def metrics(self) -> dict[str, float]:
        if self.n == 0:
            return {}
        sst = self.sum_y2 - self.sum_y**2 / self.n
        out = {
            "mae": float(self.abs_error / self.n),
            "rmse": math.sqrt(self.sq_error / self.n),
            "labelled_rows": float(self.n),
        }
        if sst > 0:
            out["r2"] = float(1 - self.sq_error / sst)
        return out


def _plain(value: Any) -> Any:
    """Labels and predictions as comparable Python values (numpy scalars unwrapped, 1.0 == 1)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _sort_key(value: Any) -> tuple[int, Any]:
    return (0, value) if isinstance(value, int | float | bool) else (1, str(value))
