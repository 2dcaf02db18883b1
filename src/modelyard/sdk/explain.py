"""Global explanations recorded with the model: ``my.explain("models:/churn/7", "datasets:/churn@3fa2")``.

The explanation is computed by ``modelyard.explain`` and recorded where the platform keeps its
evidence: in a run (the active one, a pipeline step's, or a new run in the ``explanations``
experiment) as ``explain/summary.json`` (every feature's mean |SHAP|), ``explain/attributions.parquet``
(the attributions of a row sample beside its inputs) and ``explain/summary.html`` (the plots);
and, for a registered version, as the tag ``modelyard.explain.summary`` (compact JSON naming the
run's folder), which the model card and the Annex IV report read.
"""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from modelyard.domain.explain import EXPLANATION_TAG, MAX_TAG_FEATURES, ExplanationSummary
from modelyard.errors import InvalidInput
from modelyard.explain import GlobalExplanation, attribution_frame, explain_global, render_html
from modelyard.registry._validation import MAX_TAG_VALUE_LENGTH
from modelyard.sdk.client import Client
from modelyard.sdk.fluent import active_run, client

EXPERIMENT = "explanations"
FOLDER = "explain"


def explain(
    model_uri: str,
    data: pd.DataFrame | str,
    *,
    feature: str | None = None,
    out: str | Path | None = None,
    class_index: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> GlobalExplanation:
    """Explain ``model_uri`` on ``data`` (a DataFrame or a ``datasets:/`` URI) and record it.

    The run is the active one, else a new run in the ``explanations`` experiment. ``out`` also
    writes the HTML summary there; ``feature`` picks its dependence plot.
    """
    c = client()
    current = active_run()
    run_id = str(current.info.run_id) if current is not None else None
    return record_explanation(
        c, model_uri, data, run_id=run_id, feature=feature, out=out, class_index=class_index, progress=progress
    )


def record_explanation(
    c: Client,
    model_uri: str,
    data: pd.DataFrame | str,
    *,
    run_id: str | None = None,
    feature: str | None = None,
    out: str | Path | None = None,
    class_index: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> GlobalExplanation:
    """``explain`` on an explicit client and run (``None``: a new run in ``explanations``, ended here)."""
    if not isinstance(model_uri, str):
        raise InvalidInput(f"model_uri must be a models:/ or runs:/ URI, got {type(model_uri).__name__}")
    resolved = c.backend.model_resolver.resolve(model_uri)
    predictor = c.registry.load_model(model_uri)
    frame, data_uri = _data(c, data)
    version = resolved.version
    subject = f"models:/{version.name}/{version.version}" if version is not None else model_uri
    explanation = explain_global(
        predictor, frame, model=subject, data_uri=data_uri, class_index=class_index, progress=progress
    )
    page = render_html(explanation, feature=feature)  # before anything is stored: a bad feature fails first
    own_run = run_id is None
    if run_id is None:
        experiment = c.backend.experiments.get_or_create(EXPERIMENT).experiment_id
        run_id = c.create_run(experiment, run_name=f"explain {subject}").info.run_id
    try:
        summary = _store(c, run_id, explanation, page)
        if version is not None:
            c.backend.model_versions.record_assessment(
                version.name, version.version, EXPLANATION_TAG, tag_value(summary)
            )
    except BaseException:
        if own_run:
            c.set_terminated(run_id, "FAILED")
        raise
    if own_run:
        c.set_terminated(run_id)
    if out is not None:
        Path(out).write_text(page, encoding="utf-8")
    return GlobalExplanation(summary=summary, sample=explanation.sample)


def _data(c: Client, data: pd.DataFrame | str) -> tuple[pd.DataFrame, str]:
    if isinstance(data, pd.DataFrame):
        return data, ""
    if isinstance(data, str) and data.startswith("datasets:/"):
        version = c.backend.datasets.resolve(data)
        return c.backend.datasets.load(data), version.uri
    raise InvalidInput(f"data must be a DataFrame or a datasets:/ URI, got {data!r}")


def _store(c: Client, run_id: str, explanation: GlobalExplanation, page: str) -> ExplanationSummary:
    summary = explanation.summary
    located = dataclasses.replace(summary, location=f"runs:/{run_id}/{FOLDER}")
    artifacts = c.backend.artifacts
    buffer = io.BytesIO()
    attribution_frame(explanation.sample).to_parquet(buffer, index=False)
    artifacts.log_bytes(run_id, buffer.getvalue(), f"{FOLDER}/attributions.parquet")
    artifacts.log_bytes(run_id, page.encode("utf-8"), f"{FOLDER}/summary.html")
    artifacts.log_bytes(run_id, json.dumps(located.to_dict(), indent=2).encode("utf-8"), f"{FOLDER}/summary.json")
    c.set_tag(run_id, "modelyard.explain.model", summary.model)
    return located


def tag_value(summary: ExplanationSummary) -> str:
    """The summary as the version tag's JSON: the largest importances that fit the tag's limit."""
    keep = MAX_TAG_FEATURES
    while True:
        text = json.dumps(summary.to_dict(max_features=keep), separators=(",", ":"))
        if len(text) <= MAX_TAG_VALUE_LENGTH or keep <= 1:
            return text
        keep //= 2


def read_explanation(c: Client, model_uri: str) -> ExplanationSummary | None:
    """The explanation recorded on a registered version, or ``None`` when it has none."""
    version = c.backend.model_resolver.resolve(model_uri).version
    if version is None:
        raise InvalidInput(f"{model_uri} is not a registered model version; explanations are tagged on versions")
    text = version.tags.get(EXPLANATION_TAG)
    return None if text is None else ExplanationSummary.from_dict(json.loads(text))
