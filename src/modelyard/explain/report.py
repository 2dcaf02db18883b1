"""The explanation summary as one self-contained HTML file (plotly.js inlined, opens offline).

Three plots from a ``GlobalExplanation``: the importance bars (mean |SHAP| per feature), a
beeswarm-style distribution (each kept row's attribution per feature, coloured by the feature's
value, so a reader sees which direction of a feature pushes the output up) and a dependence plot
of one feature (its value against its attribution).
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import pandas as pd

from modelyard.errors import InvalidInput
from modelyard.explain.global_explanation import GlobalExplanation

MAX_FEATURES = 20


def render_html(explanation: GlobalExplanation, *, feature: str | None = None) -> str:
    """The HTML summary; ``feature`` picks the dependence plot (default: the most important one)."""
    import plotly.graph_objects as go  # heavy optional import, only when rendering

    summary, sample = explanation.summary, explanation.sample
    if feature is not None and feature not in sample.features:
        raise InvalidInput(f"the model has no feature {feature!r}; it has {', '.join(sample.features)}")
    top = [name for name, _ in summary.importance[:MAX_FEATURES]]
    chosen = feature or (top[0] if top else None)
    figures: list[Any] = []

    bars = go.Figure(
        go.Bar(
            x=[v for _, v in summary.importance[:MAX_FEATURES]][::-1],
            y=top[::-1],
            orientation="h",
            marker_color="#1f77b4",
        )
    )
    bars.update_layout(title=f"Mean |SHAP| per feature ({summary.output})", height=120 + 24 * len(top))
    figures.append(bars)

    swarm = go.Figure()
    rng = np.random.default_rng(0)
    for rank, name in enumerate(top[::-1]):
        j = sample.features.index(name)
        values = sample.values[:, j]
        swarm.add_trace(
            go.Scattergl(
                x=values,
                y=rank + rng.uniform(-0.3, 0.3, size=len(values)),
                mode="markers",
                name=name,
                showlegend=False,
                marker={
                    "size": 5,
                    "color": _scaled(sample.data[name]),
                    "colorscale": "RdBu_r",
                    "cmin": 0,
                    "cmax": 1,
                    "showscale": rank == 0,
                    "colorbar": {"title": "feature value<br>(low to high)"},
                },
                hovertext=[f"{name} = {v}" for v in sample.data[name]],
            )
        )
    swarm.update_layout(
        title=f"Attribution per row ({len(sample.values)} rows kept)",
        yaxis={"tickvals": list(range(len(top))), "ticktext": top[::-1]},
        xaxis_title="SHAP value",
        height=120 + 28 * len(top),
    )
    figures.append(swarm)

    if chosen is not None:
        j = sample.features.index(chosen)
        dependence = go.Figure(
            go.Scattergl(x=sample.data[chosen], y=sample.values[:, j], mode="markers", marker={"size": 6})
        )
        dependence.update_layout(
            title=f"Dependence: {chosen}", xaxis_title=chosen, yaxis_title=f"SHAP value of {chosen}", height=420
        )
        figures.append(dependence)

    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Explanation: {html.escape(summary.model or 'model')}</title></head>",
        '<body style="font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto">',
        f"<h1>Explanation of {html.escape(summary.model or 'a model')}</h1>",
        "<table>",
        *(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
            for k, v in (
                ("data", summary.data),
                ("rows explained", summary.rows),
                ("explainer", f"{summary.method.value} ({'exact' if summary.exact else 'approximate'})"),
                ("how", summary.note),
                ("attributions add up to", f"{summary.output}, from a base value of {summary.base_value:.6g}"),
                ("computed in", f"{summary.seconds:.2f} s"),
            )
        ),
        "</table>",
    ]
    for index, fig in enumerate(figures):
        parts.append(fig.to_html(full_html=False, include_plotlyjs=index == 0))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _scaled(column: pd.Series) -> list[float]:
    """Feature values mapped to [0, 1] by rank (colours), categories by their code; missing at 0.5."""
    if not (pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)):
        column = pd.Series(pd.Categorical(column).codes, index=column.index).astype(float)
    ranks = column.astype(float).rank(pct=True)
    return [0.5 if np.isnan(v) else float(v) for v in ranks]
