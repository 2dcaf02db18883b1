"""Plotly figures as HTML fragments: the library itself is loaded once by the page frame."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

_LAYOUT: dict[str, Any] = {
    "margin": {"l": 50, "r": 20, "t": 40, "b": 40},
    "height": 340,
    "template": "plotly_white",
    "legend": {"orientation": "h"},
}


def fragment(fig: go.Figure, *, title: str = "") -> str:
    """``fig`` as a ``<div>`` and its script, with no copy of plotly.js inside."""
    fig.update_layout(**_LAYOUT, title=title)
    html: str = fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False})
    return html


def smooth(values: list[float], weight: float) -> list[float]:
    """Exponential moving average (TensorBoard's smoothing): ``weight`` 0 keeps the values."""
    if not 0 <= weight < 1:
        return values
    out: list[float] = []
    last = values[0] if values else 0.0
    for value in values:
        last = last * weight + (1 - weight) * value
        out.append(last)
    return out
