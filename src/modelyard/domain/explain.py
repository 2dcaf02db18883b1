"""Explainability and fairness records: what a global explanation and a fairness examination found.

Both are kept with the model version they describe as compact JSON tags (``EXPLANATION_TAG``,
``FAIRNESS_TAG``), which is what the model card and the Annex IV report read; the full figures
(every feature, a sample's attributions, the plots) are artifacts of the run that computed them,
named by ``location``. The JSON shapes are defined here, once, so the services that write them
and governance, which reads them below the services, cannot drift apart.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

EXPLANATION_TAG = "modelyard.explain.summary"
FAIRNESS_TAG = "modelyard.fairness.summary"
MAX_TAG_FEATURES = 40
"""Features kept in the tag (largest importance first); the run's artifact keeps them all."""


class ExplainerKind(enum.StrEnum):
    """How attributions were computed: exact for trees and linear models, sampled otherwise."""

    TREE = "tree"
    LINEAR = "linear"
    PERMUTATION = "permutation"


@dataclass(frozen=True, kw_only=True)
class ExplanationSummary:
    """A global explanation of one model on one dataset: mean |attribution| per feature.

    ``output`` says what the attributions add up to (with ``base_value``): e.g. "probability of
    class 1", "log-odds of class 1", "prediction". ``note`` says how exact the figures are (a
    permutation explainer on a sample says so). ``location`` is the ``runs:/`` folder holding the
    full explanation, the attribution sample and the HTML summary.
    """

    model: str
    data: str
    method: ExplainerKind
    exact: bool
    output: str
    rows: int
    base_value: float
    importance: tuple[tuple[str, float], ...]
    location: str = ""
    computed_ms: int = 0
    note: str = ""
    seconds: float = 0.0

    def to_dict(self, *, max_features: int | None = None) -> dict[str, Any]:
        shown = self.importance if max_features is None else self.importance[:max_features]
        return {
            "model": self.model,
            "data": self.data,
            "method": self.method.value,
            "exact": self.exact,
            "output": self.output,
            "rows": self.rows,
            "base_value": self.base_value,
            "importance": [[name, value] for name, value in shown],
            "features": len(self.importance),
            "location": self.location,
            "computed_ms": self.computed_ms,
            "note": self.note,
            "seconds": round(self.seconds, 4),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExplanationSummary:
        return cls(
            model=str(data["model"]),
            data=str(data["data"]),
            method=ExplainerKind(data["method"]),
            exact=bool(data["exact"]),
            output=str(data["output"]),
            rows=int(data["rows"]),
            base_value=float(data["base_value"]),
            importance=tuple((str(n), float(v)) for n, v in data["importance"]),
            location=str(data.get("location", "")),
            computed_ms=int(data.get("computed_ms", 0)),
            note=str(data.get("note", "")),
            seconds=float(data.get("seconds", 0.0)),
        )


@dataclass(frozen=True, kw_only=True)
class GroupMetrics:
    """The classification figures of one group (one value of a sensitive attribute).

    Definitions are fairlearn's: selection rate is the share predicted positive; TPR (recall) is
    TP / (TP + FN) and FPR is FP / (FP + TN), 0 when the denominator is 0; accuracy the share right.
    """

    attribute: str
    group: str
    rows: int
    selection_rate: float
    tpr: float
    fpr: float
    accuracy: float


@dataclass(frozen=True, kw_only=True)
class FairnessGaps:
    """The gaps between the groups of one attribute (fairlearn's ``between_groups`` definitions).

    Demographic parity difference is the largest minus the smallest selection rate, its ratio the
    smallest over the largest; equalized odds difference is the larger of the TPR and FPR spreads.
    ``worst`` names, per figure, the group that is furthest behind (lowest selection rate or TPR,
    highest FPR), so a failing gate can say who.
    """

    attribute: str
    demographic_parity_difference: float
    demographic_parity_ratio: float
    equalized_odds_difference: float
    worst: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class FairnessReport:
    """Per-group metrics and gaps for each sensitive attribute, on one evaluation dataset."""

    positive_label: str
    rows: int
    groups: tuple[GroupMetrics, ...]
    gaps: tuple[FairnessGaps, ...]
    data: str = ""
    model: str = ""
    location: str = ""

    def gaps_for(self, attribute: str) -> FairnessGaps:
        for gap in self.gaps:
            if gap.attribute == attribute:
                return gap
        raise KeyError(attribute)

    def to_dict(self) -> dict[str, Any]:
        return {
            "positive_label": self.positive_label,
            "rows": self.rows,
            "data": self.data,
            "model": self.model,
            "location": self.location,
            "groups": [
                {
                    "attribute": g.attribute,
                    "group": g.group,
                    "rows": g.rows,
                    "selection_rate": g.selection_rate,
                    "tpr": g.tpr,
                    "fpr": g.fpr,
                    "accuracy": g.accuracy,
                }
                for g in self.groups
            ],
            "gaps": [
                {
                    "attribute": g.attribute,
                    "demographic_parity_difference": g.demographic_parity_difference,
                    "demographic_parity_ratio": g.demographic_parity_ratio,
                    "equalized_odds_difference": g.equalized_odds_difference,
                    "worst": dict(g.worst),
                }
                for g in self.gaps
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FairnessReport:
        return cls(
            positive_label=str(data["positive_label"]),
            rows=int(data["rows"]),
            data=str(data.get("data", "")),
            model=str(data.get("model", "")),
            location=str(data.get("location", "")),
            groups=tuple(GroupMetrics(**g) for g in data.get("groups", [])),
            gaps=tuple(FairnessGaps(**g) for g in data.get("gaps", [])),
        )
