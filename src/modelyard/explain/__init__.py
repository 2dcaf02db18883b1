"""Explainability and fairness: SHAP attributions, global explanations, attribution shift, group metrics.

A service context below serving, monitoring and pipelines (which use it) and above governance:
it imports only ``models``, ``domain`` and the core. ``explainer_for`` picks the fastest exact
SHAP explainer for a loaded model (trees, linear models; a sampled permutation explainer for the
rest, marked as such), ``explain_global`` summarises a dataset's attributions, ``render_html``
draws them. Recording a summary with a model version is the SDK's job (``modelyard.sdk.explain``).
"""

from typing import TYPE_CHECKING

from modelyard._lazy import lazy_exports

if TYPE_CHECKING:
    from modelyard.explain.explainers import Attributions as Attributions
    from modelyard.explain.explainers import Explainer as Explainer
    from modelyard.explain.explainers import explainer_for as explainer_for
    from modelyard.explain.fairness import fairness_report as fairness_report
    from modelyard.explain.global_explanation import GlobalExplanation as GlobalExplanation
    from modelyard.explain.global_explanation import attribution_frame as attribution_frame
    from modelyard.explain.global_explanation import explain_global as explain_global
    from modelyard.explain.global_explanation import model_inputs as model_inputs
    from modelyard.explain.report import render_html as render_html
    from modelyard.explain.shift import AttributionBaseline as AttributionBaseline
    from modelyard.explain.shift import attribution_shares as attribution_shares
    from modelyard.explain.shift import baseline as baseline

__getattr__ = lazy_exports(__name__, __file__)
del TYPE_CHECKING, lazy_exports  # import plumbing, not part of the package's surface

__all__ = [
    "AttributionBaseline",
    "Attributions",
    "Explainer",
    "GlobalExplanation",
    "attribution_frame",
    "attribution_shares",
    "baseline",
    "explain_global",
    "explainer_for",
    "fairness_report",
    "model_inputs",
    "render_html",
]
