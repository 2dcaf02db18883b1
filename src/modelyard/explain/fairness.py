"""Group fairness of a classifier: per-group selection rate, TPR, FPR, accuracy, and the gaps between groups.

The definitions are fairlearn's (``MetricFrame`` with ``selection_rate``, ``true_positive_rate``,
``false_positive_rate``, ``accuracy_score``; ``demographic_parity_difference`` / ``_ratio`` and
``equalized_odds_difference`` with ``method="between_groups"``), computed here with numpy so the
platform does not depend on fairlearn; the tests check the figures equal fairlearn's. Each
sensitive attribute is examined on its own (its groups are its values). Sensitive attributes are
columns of the evaluation data: they need not be model inputs (and usually should not be).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from modelyard.domain.explain import FairnessGaps, FairnessReport, GroupMetrics
from modelyard.errors import InvalidInput


def _rate(numerator: int, denominator: int) -> float:
    """A rate that is 0 when nothing could be counted (scikit-learn's normalised confusion matrix)."""
    return float(numerator / denominator) if denominator else 0.0


def group_metrics(attribute: str, group: str, truth: np.ndarray, predicted: np.ndarray) -> GroupMetrics:
    """The figures of one group; ``truth`` and ``predicted`` are booleans (positive or not)."""
    tp = int((truth & predicted).sum())
    fn = int((truth & ~predicted).sum())
    fp = int((~truth & predicted).sum())
    tn = int((~truth & ~predicted).sum())
    rows = len(truth)
    return GroupMetrics(
        attribute=attribute,
        group=group,
        rows=rows,
        selection_rate=_rate(tp + fp, rows),
        tpr=_rate(tp, tp + fn),
        fpr=_rate(fp, fp + tn),
        accuracy=_rate(tp + tn, rows),
    )


def gaps(attribute: str, groups: Sequence[GroupMetrics]) -> FairnessGaps:
    """The between-groups gaps of one attribute, and which group is furthest behind on each."""
    if not groups:
        raise InvalidInput(f"sensitive attribute {attribute!r} has no group to compare")
    selection = [g.selection_rate for g in groups]
    tpr = [g.tpr for g in groups]
    fpr = [g.fpr for g in groups]
    top = max(selection)
    return FairnessGaps(
        attribute=attribute,
        demographic_parity_difference=top - min(selection),
        demographic_parity_ratio=min(selection) / top if top > 0 else 1.0,
        equalized_odds_difference=max(max(tpr) - min(tpr), max(fpr) - min(fpr)),
        worst={
            "selection_rate": groups[int(np.argmin(selection))].group,
            "tpr": groups[int(np.argmin(tpr))].group,
            "fpr": groups[int(np.argmax(fpr))].group,
        },
    )


def fairness_report(
    truth: Any,
    predicted: Any,
    sensitive: pd.DataFrame | Mapping[str, Any],
    *,
    positive_label: Any = None,
    data: str = "",
    model: str = "",
) -> FairnessReport:
    """Per-group metrics and gaps for each column of ``sensitive`` (rows aligned with ``truth``).

    ``positive_label`` defaults to the largest label seen in ``truth`` and ``predicted`` (fairlearn's
    default). Rows whose sensitive value is missing belong to no group of that attribute.
    """
    y = np.asarray(truth)
    p = np.asarray(predicted).reshape(len(y), -1)[:, 0] if len(y) else np.asarray(predicted)
    if len(y) != len(p):
        raise InvalidInput(f"{len(y)} labels but {len(p)} predictions")
    if len(y) == 0:
        raise InvalidInput("fairness needs at least one labelled row")
    frame = pd.DataFrame(sensitive).reset_index(drop=True)
    if frame.empty or len(frame) != len(y):
        raise InvalidInput(f"the sensitive attributes need one value per row ({len(y)} rows)")
    labels = np.unique(np.concatenate([y, p]))
    if positive_label is None:
        positive_label = labels.max()
    elif positive_label not in labels:
        raise InvalidInput(f"positive label {positive_label!r} is not among the labels {labels.tolist()}")
    if len(labels) > 2:
        raise InvalidInput(f"fairness metrics are for binary classifiers; the labels are {labels.tolist()}")
    positive_truth = y == positive_label
    positive_pred = p == positive_label
    all_groups: list[GroupMetrics] = []
    all_gaps: list[FairnessGaps] = []
    for attribute in frame.columns:
        column = frame[attribute]
        found = []
        for value in sorted(column.dropna().unique().tolist(), key=str):
            mask = (column == value).to_numpy()
            found.append(group_metrics(str(attribute), str(value), positive_truth[mask], positive_pred[mask]))
        all_groups.extend(found)
        all_gaps.append(gaps(str(attribute), found))
    return FairnessReport(
        positive_label=str(positive_label),
        rows=len(y),
        groups=tuple(all_groups),
        gaps=tuple(all_gaps),
        data=data,
        model=model,
    )
