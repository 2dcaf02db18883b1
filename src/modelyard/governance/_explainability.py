"""The explainability and bias-examination fields of model cards and Annex IV reports, from version tags.

``my.explain`` / ``modelyard explain`` / the ``explain_model`` step leave ``modelyard.explain.summary``
on a version and the validation gate with sensitive attributes leaves ``modelyard.fairness.summary``
(``modelyard.domain.explain``); these render them as text: the global importances as a bar chart
drawn in characters (the plotly summary's location is given beside it), and the fairness table.
A version without them says so, with the command that fills them.
"""

from __future__ import annotations

import json

from modelyard.domain.explain import EXPLANATION_TAG, FAIRNESS_TAG, ExplanationSummary, FairnessReport
from modelyard.domain.registry import ModelVersion

_BAR_WIDTH = 30
_SHOWN = 15


def explanation(version: ModelVersion) -> ExplanationSummary | None:
    text = version.tags.get(EXPLANATION_TAG)
    return ExplanationSummary.from_dict(json.loads(text)) if text else None


def fairness(version: ModelVersion) -> FairnessReport | None:
    text = version.tags.get(FAIRNESS_TAG)
    return FairnessReport.from_dict(json.loads(text)) if text else None


def importance_text(version: ModelVersion) -> str:
    """Mean |SHAP| per feature as a bar chart, with how it was computed and where the plots are."""
    found = explanation(version)
    if found is None:
        return (
            "no explanation was recorded for this version; run: modelyard explain "
            f"models:/{version.name}/{version.version} --data datasets:/NAME@DIGEST"
        )
    shown = found.importance[:_SHOWN]
    top = max((v for _, v in shown), default=0.0) or 1.0
    width = max((len(n) for n, _ in shown), default=0)
    lines = [
        f"{found.method.value} explainer, {'exact' if found.exact else 'approximate'}: {found.note}",
        f"mean |SHAP| per feature, in units of {found.output} (base value {found.base_value:.6g}):",
    ]
    for name, value in shown:
        bar = "█" * max(1, round(_BAR_WIDTH * value / top)) if value > 0 else ""
        lines.append(f"  {name.ljust(width)}  {bar} {value:.4g}")
    more = len(found.importance) - len(shown)
    if more > 0:
        lines.append(f"  ... and {more} more feature(s) in {found.location}/summary.json")
    lines.append(f"plots (importance, per-row distribution, dependence): {found.location}/summary.html")
    return "\n".join(lines)


def explanation_data_text(version: ModelVersion) -> str:
    found = explanation(version)
    if found is None:
        return "no explanation was recorded for this version"
    return (
        f"{found.rows} rows of {found.data}, explained in {found.seconds:.2f} s; "
        f"attributions of a sample in {found.location}/attributions.parquet"
    )


def fairness_text(version: ModelVersion) -> str:
    """Per-group metrics and the gaps between groups, with the data they were computed on."""
    found = fairness(version)
    if found is None:
        return (
            "no fairness examination was recorded for this version; run the validation gate with "
            "GateCriteria(sensitive=(...)) on a holdout holding the sensitive attributes"
        )
    lines = [f"{found.rows} rows of {found.data}; positive label {found.positive_label}; figures in {found.location}"]
    for gap in found.gaps:
        lines.append(
            f"{gap.attribute}: demographic parity difference {gap.demographic_parity_difference:.4f}, "
            f"ratio {gap.demographic_parity_ratio:.4f}; equalized odds difference {gap.equalized_odds_difference:.4f} "
            f"(lowest selection rate: {gap.worst.get('selection_rate', '?')})"
        )
        groups = [g for g in found.groups if g.attribute == gap.attribute]
        if groups:
            lines.append(f"  {'group':<16} {'rows':>6} {'selection':>9} {'TPR':>7} {'FPR':>7} {'accuracy':>8}")
        for g in groups:
            figures = f"{g.selection_rate:>9.4f} {g.tpr:>7.4f} {g.fpr:>7.4f} {g.accuracy:>8.4f}"
            lines.append(f"  {g.group[:16]:<16} {g.rows:>6} {figures}")
    return "\n".join(lines)
