"""Global explanations: attributions over a whole dataset, summarised as mean |SHAP| per feature.

Exact explainers (trees, linear models) go over every row, in chunks so a caller can show
progress; a sampled explainer (permutation) goes over a uniform sample of ``approximate_rows``
rows, which the summary's ``note`` states. A sample of the attributions (``keep_rows``) is kept
with the summary for the distribution and dependence plots and for the record.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from modelyard.clock import SYSTEM_CLOCK, Clock
from modelyard.domain.explain import ExplanationSummary
from modelyard.errors import InvalidInput
from modelyard.explain.explainers import Attributions, Explainer, explainer_for
from modelyard.models import Predictor

CHUNK_ROWS = 10_000
Progress = Callable[[int, int], None]
"""Called with (rows explained so far, rows to explain) after each chunk."""


@dataclass(frozen=True, kw_only=True)
class GlobalExplanation:
    """A summary (what is stored with the model version) and the attributions of a row sample."""

    summary: ExplanationSummary
    sample: Attributions


def model_inputs(predictor: Predictor, data: pd.DataFrame) -> pd.DataFrame:
    """The columns of ``data`` the model takes: its signature's inputs (other columns, such as the
    label or a sensitive attribute, are left out); every column when it has no signature."""
    signature = predictor.signature
    if signature is None:
        return data
    names = list(signature.input_names)
    missing = [n for n in names if n not in data.columns]
    if missing:
        raise InvalidInput(
            f"the data has no column(s) {', '.join(map(repr, missing))} the model takes", missing=missing
        )
    return data[names]


def explain_global(
    predictor: Predictor,
    data: pd.DataFrame,
    *,
    model: str = "",
    data_uri: str = "",
    explainer: Explainer | None = None,
    class_index: int | None = None,
    approximate_rows: int = 200,
    keep_rows: int = 500,
    seed: int = 0,
    progress: Progress | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> GlobalExplanation:
    """Explain ``data`` with ``predictor``'s explainer (built here unless given).

    ``model`` and ``data_uri`` name what was explained in the summary (a ``models:/`` URI and a
    ``datasets:/`` URI when known).
    """
    started = time.perf_counter()
    frame = model_inputs(predictor, data).reset_index(drop=True)
    if frame.empty:
        raise InvalidInput("the data has no rows to explain")
    if explainer is None:
        explainer = explainer_for(predictor, frame, class_index=class_index, seed=seed)
    rng = np.random.default_rng(seed)
    note = explainer.note
    if not explainer.exact and len(frame) > approximate_rows:
        chosen = np.sort(rng.choice(len(frame), size=approximate_rows, replace=False))
        frame = frame.iloc[chosen].reset_index(drop=True)
        note += f"; explained a uniform sample of {approximate_rows} of {len(data)} rows"
    conformed = explainer.conform(frame)
    parts: list[np.ndarray] = []
    base = 0.0
    for start in range(0, len(conformed), CHUNK_ROWS):
        chunk = explainer.explain_conformed(conformed.iloc[start : start + CHUNK_ROWS])
        parts.append(chunk.values)
        base = chunk.base_value
        if progress is not None:
            progress(min(start + CHUNK_ROWS, len(conformed)), len(conformed))
    values = np.concatenate(parts)
    everything = Attributions(
        features=tuple(str(c) for c in conformed.columns), values=values, base_value=base, data=conformed
    )
    importance = sorted(everything.mean_abs().items(), key=lambda item: (-item[1], item[0]))
    kept = np.arange(len(conformed))
    if len(kept) > keep_rows:
        kept = np.sort(rng.choice(len(conformed), size=keep_rows, replace=False))
    sample = Attributions(
        features=everything.features,
        values=values[kept],
        base_value=base,
        data=conformed.iloc[kept].reset_index(drop=True),
    )
    summary = ExplanationSummary(
        model=model,
        data=data_uri or f"a DataFrame of {len(data)} rows",
        method=explainer.kind,
        exact=explainer.exact,
        output=explainer.output,
        rows=len(conformed),
        base_value=base,
        importance=tuple(importance),
        computed_ms=clock.now_ms(),
        note=note,
        seconds=time.perf_counter() - started,
    )
    return GlobalExplanation(summary=summary, sample=sample)


def attribution_frame(attributions: Attributions) -> pd.DataFrame:
    """The attributions as a table: one ``shap.<feature>`` column per feature beside the inputs,
    and ``base_value``, as stored with an explanation (``explain/attributions.parquet``)."""
    shap_part = pd.DataFrame(attributions.values, columns=[f"shap.{f}" for f in attributions.features])
    inputs = attributions.data.reset_index(drop=True).add_prefix("input.")
    out = pd.concat([inputs, shap_part], axis=1)
    out["base_value"] = attributions.base_value
    return out
