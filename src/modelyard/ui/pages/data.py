"""Datasets: their versions, a version's schema and profile (histograms, top levels), and the
diff of two versions with drift figures."""

from __future__ import annotations

import itertools

import plotly.graph_objects as go
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from plotly.subplots import make_subplots

from modelyard.domain.data import CategoricalColumnProfile, DatasetVersion, NumericColumnProfile
from modelyard.ui._charts import fragment
from modelyard.ui._render import backend_of, render

router = APIRouter()

MAX_PLOTTED_COLUMNS = 24


@router.get("/datasets")
def datasets(request: Request) -> HTMLResponse:
    return render(request, "datasets.html", {"datasets": backend_of(request).datasets.list_datasets()})


@router.get("/datasets/{name}")
def dataset(request: Request, name: str, digest: str = "", a: str = "", b: str = "") -> HTMLResponse:
    """The versions of ``name``; one version's profile (``digest``, default the newest); the diff
    of versions ``a`` and ``b`` when both are given."""
    backend = backend_of(request)
    versions = backend.datasets.list_versions(name)
    shown = backend.datasets.get(name, digest) if digest else (versions[0] if versions else None)
    diff = backend.datasets.diff(f"datasets:/{name}@{a}", f"datasets:/{name}@{b}") if a and b else None
    context = {
        "name": name,
        "versions": versions,
        "shown": shown,
        "profile_chart": _profile_chart(shown) if shown else "",
        "categorical": [c for c in shown.profile.columns if isinstance(c, CategoricalColumnProfile)] if shown else [],
        "diff": diff,
        "a": a,
        "b": b,
        "charts": shown is not None,
    }
    return render(request, "dataset.html", context)


def _profile_chart(version: DatasetVersion) -> str:
    """One small histogram per numeric column (from the stored profile: no rows are read)."""
    numeric = [c for c in version.profile.columns if isinstance(c, NumericColumnProfile)][:MAX_PLOTTED_COLUMNS]
    if not numeric:
        return ""
    cols = 4
    rows = (len(numeric) + cols - 1) // cols
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[c.name for c in numeric])
    for i, column in enumerate(numeric):
        edges, counts = column.histogram.edges, column.histogram.counts
        centres = [(lo + hi) / 2 for lo, hi in itertools.pairwise(edges)]
        bars = go.Bar(x=centres, y=list(counts), name=column.name, showlegend=False)
        fig.add_trace(bars, i // cols + 1, i % cols + 1)
    chart = fragment(fig, title="numeric columns")
    return chart.replace('"height":340', f'"height":{max(340, 220 * rows)}')
