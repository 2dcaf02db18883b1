"""Self-contained HTML reports: a deployment's monitoring over time, and drift between two datasets.

A report is one HTML file with plotly.js inlined (no network needed to open it, so it can be
attached to a CI run or an incident). Reports only render records the monitors stored (results,
alerts) or a ``DatasetDrift`` just computed; they never compute statistics of their own, except
``distributions``, which bins a window on the reference's histogram edges so the two can be
drawn side by side (the monitor stores them with each result).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from modelyard.domain.monitoring import Alert, Monitor, MonitorResult
from modelyard.monitoring.drift import DatasetDrift, DriftThresholds, Reference
from modelyard.monitoring.drift.reference import NumericReference, level_counts, numeric_values

MAX_LEVELS = 30
"""Categorical plots show the reference's most frequent levels up to this many, plus unseen ones."""
PERFORMANCE = ("accuracy", "precision", "recall", "f1", "roc_auc", "mae", "rmse", "r2")
LATENCY = ("p50_latency_ms", "p95_latency_ms", "p99_latency_ms")


def distributions(reference: Reference, frame: pd.DataFrame, names: Sequence[str]) -> dict[str, Any]:
    """Reference and current counts of each column on the same bins (JSON-ready)."""
    out: dict[str, Any] = {}
    for name in names:
        ref = reference.column(name)
        if isinstance(ref, NumericReference):
            edges = list(ref.profile.histogram.edges)
            if len(edges) < 2:
                continue
            values = numeric_values(frame[name], ref.profile.kind)
            values = np.clip(values[np.isfinite(values)], edges[0], edges[-1])
            current, _ = np.histogram(values, bins=np.asarray(edges))
            out[name] = {
                "kind": "numeric",
                "edges": edges,
                "reference": list(ref.profile.histogram.counts),
                "current": [int(c) for c in current],
            }
        else:
            prof = ref.profile
            levels = list(prof.values[:MAX_LEVELS])
            counts = level_counts(frame[name])
            unseen = (ref.unseen_levels([k for k in counts if k not in set(prof.values)]) or [])[:5]
            out[name] = {
                "kind": "categorical",
                "levels": levels + unseen,
                "reference": list(prof.counts[:MAX_LEVELS]) + [0] * len(unseen),
                "current": [counts.get(level, 0) for level in levels + unseen],
            }
    return out


def monitor_report(
    deployment: str,
    monitors: Sequence[tuple[Monitor, Sequence[MonitorResult], DriftThresholds]],
    alerts: Sequence[Alert],
    *,
    generated_ms: int,
) -> str:
    """The HTML report of ``deployment``: summary, distributions, drift/performance/latency over time, alerts."""
    page = _Page(f"modelyard monitoring: {deployment}")
    page.text(f"<p class='meta'>generated {_ts(generated_ms)} · {len(monitors)} monitor(s)</p>")
    page.heading("Summary")
    page.table(
        [
            "monitor",
            "reference",
            "windows",
            "last window",
            "rows",
            "share drifted",
            "drifted",
            "accuracy / r2",
            "p95 latency ms",
            "open alerts",
        ],
        [_summary_row(m, results, alerts) for m, results, _ in monitors],
    )
    for monitor, results, thresholds in monitors:
        page.heading(f"Monitor {monitor.name}")
        if not results:
            page.text("<p>No finished window yet.</p>")
            continue
        latest = results[-1]
        page.subheading(f"Reference vs current (window ending {_ts(latest.end_ms)})")
        page.figure(_distribution_figure(latest.distributions))
        page.subheading("Drift over time")
        page.figure(_drift_figure(results, thresholds))
        if any(k in r.metrics for r in results for k in PERFORMANCE):
            page.subheading("Performance over time (from late labels)")
            page.figure(_lines(results, PERFORMANCE, "value"))
        shifts = sorted({k for r in results for k in r.metrics if k.startswith("attribution_shift:")})
        if shifts:
            page.subheading(f"Attribution shift over time (share of |SHAP| vs the reference; {monitor.explain_model})")
            page.figure(_lines(results, shifts, "|share now - share in reference|"))
        page.subheading("Latency and errors over time")
        page.figure(_lines(results, (*LATENCY, "error_rate"), "ms", secondary="error_rate"))
    page.heading("Open alerts")
    active = [a for a in alerts if a.status.is_active]
    page.table(
        ["id", "monitor", "rule", "status", "value", "window end", "opened"],
        [
            [
                a.id[:12],
                a.monitor,
                a.expression,
                a.status.value,
                f"{a.value:.4g}",
                _ts(a.window_end_ms),
                _ts(a.opened_ms),
            ]
            for a in active
        ],
        empty="No open alerts.",
    )
    return page.render()


def drift_report(title: str, drift: DatasetDrift, dists: dict[str, Any]) -> str:
    """The HTML report of one drift comparison (two dataset versions, or a reference and a frame)."""
    page = _Page(title)
    verdict = "DRIFT" if drift.drifted_features else "no drift"
    page.text(
        f"<p class='meta'>{verdict}: {len(drift.drifted_features)} of {len(drift.features)} feature(s) drifted "
        f"(share {drift.share_drifted:.3f}; dataset drift at {drift.thresholds.dataset_share:g}; "
        f"p-values corrected with {html.escape(drift.thresholds.correction)})</p>"
    )
    missing = {m.feature: m for m in drift.missing}
    page.table(
        [
            "feature",
            "method",
            "statistic",
            "p-value",
            "threshold",
            "status",
            "psi",
            "unseen share",
            "missing rate change",
        ],
        [
            [
                f.feature,
                f.method.value,
                _num(f.statistic),
                _num(f.p_value),
                _num(f.threshold),
                f.status.value,
                _num(f.details.get("psi")),
                _num(f.unseen_share),
                _num(missing[f.feature].details.get("change") if f.feature in missing else None),
            ]
            for f in drift.features
        ],
        highlight=lambda row: row[5] == "drift",
    )
    notes = [f"{f.feature}: {f.details['note']}" for f in drift.features if f.details.get("note")]
    if notes:
        page.text("<ul class='meta'>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>")
    page.heading("Distributions")
    page.figure(_distribution_figure(dists))
    return page.render()


# -- figures ----------------------------------------------------------------------------------------


def _distribution_figure(dists: dict[str, Any]) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots  # heavy optional import, only when rendering

    names = list(dists)
    cols = 2
    rows = max(1, (len(names) + cols - 1) // cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=names or ["(no features)"])
    for i, name in enumerate(names):
        d = dists[name]
        r, c = i // cols + 1, i % cols + 1
        if d["kind"] == "numeric":
            edges = np.asarray(d["edges"], dtype=float)
            x = ((edges[:-1] + edges[1:]) / 2).tolist()
        else:
            x = [str(v) for v in d["levels"]]
        for series, color in (("reference", "#1f77b4"), ("current", "#ff7f0e")):
            counts = np.asarray(d[series], dtype=float)
            share = (counts / counts.sum()).tolist() if counts.sum() > 0 else counts.tolist()
            fig.add_trace(
                go.Bar(
                    x=x, y=share, name=series, marker_color=color, opacity=0.6, showlegend=i == 0, legendgroup=series
                ),
                row=r,
                col=c,
            )
    fig.update_layout(barmode="overlay", height=280 * rows, margin={"t": 40, "b": 20})
    return fig


def _drift_figure(results: Sequence[MonitorResult], thresholds: DriftThresholds) -> Any:
    import plotly.graph_objects as go

    x = [_dt(r.end_ms) for r in results]
    keys = sorted({k for r in results for k in r.metrics if k.startswith("psi:")})
    fig = go.Figure()
    for key in keys:
        fig.add_trace(
            go.Scatter(x=x, y=[r.metrics.get(key) for r in results], mode="lines+markers", name=f"PSI {key[4:]}")
        )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=[r.metrics.get("share_drifted") for r in results],
            mode="lines+markers",
            name="share drifted",
            line={"dash": "dot", "color": "black"},
        )
    )
    for value, label, color in (
        (thresholds.psi_significant, f"PSI significant ({thresholds.psi_significant:g})", "red"),
        (thresholds.psi_moderate, f"PSI moderate ({thresholds.psi_moderate:g})", "orange"),
        (thresholds.dataset_share, f"dataset drift share ({thresholds.dataset_share:g})", "gray"),
    ):
        fig.add_hline(y=value, line_dash="dash", line_color=color, annotation_text=label)
    fig.update_layout(height=380, yaxis_title="PSI / share", margin={"t": 30, "b": 20})
    return fig


def _lines(results: Sequence[MonitorResult], keys: Sequence[str], unit: str, *, secondary: str | None = None) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    x = [_dt(r.end_ms) for r in results]
    fig = make_subplots(specs=[[{"secondary_y": secondary is not None}]])
    for key in keys:
        if not any(key in r.metrics for r in results):
            continue
        fig.add_trace(
            go.Scatter(x=x, y=[r.metrics.get(key) for r in results], mode="lines+markers", name=key),
            secondary_y=key == secondary if secondary else None,
        )
    fig.update_layout(height=320, yaxis_title=unit, margin={"t": 30, "b": 20})
    return fig


# -- page -------------------------------------------------------------------------------------------

_STYLE = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222}
table{border-collapse:collapse;margin:8px 0 16px}
td,th{border:1px solid #ccc;padding:4px 8px;font-size:13px;text-align:left}
th{background:#f3f3f3} tr.hl td{background:#fde2e1} .meta{color:#666}
"""


class _Page:
    def __init__(self, title: str) -> None:
        self.title = title
        self.parts: list[str] = [f"<h1>{html.escape(title)}</h1>"]
        self._js_included = False

    def heading(self, text: str) -> None:
        self.parts.append(f"<h2>{html.escape(text)}</h2>")

    def subheading(self, text: str) -> None:
        self.parts.append(f"<h3>{html.escape(text)}</h3>")

    def text(self, raw_html: str) -> None:
        self.parts.append(raw_html)

    def table(
        self, header: list[str], body: list[list[Any]], *, empty: str = "Nothing.", highlight: Any = None
    ) -> None:
        if not body:
            self.parts.append(f"<p>{html.escape(empty)}</p>")
            return
        head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        lines = []
        for row in body:
            cls = " class='hl'" if highlight is not None and highlight(row) else ""
            lines.append(f"<tr{cls}>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>")
        self.parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table>")

    def figure(self, fig: Any) -> None:
        # plotly.js goes in once, inline, with the first figure: the file opens offline.
        self.parts.append(fig.to_html(full_html=False, include_plotlyjs=not self._js_included))
        self._js_included = True

    def render(self) -> str:
        return (
            f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(self.title)}</title>"
            f"<style>{_STYLE}</style></head><body>{''.join(self.parts)}</body></html>"
        )


def _summary_row(monitor: Monitor, results: Sequence[MonitorResult], alerts: Sequence[Alert]) -> list[Any]:
    latest = results[-1] if results else None
    m = latest.metrics if latest else {}
    drifted = sorted(k.split(":", 1)[1] for k, v in m.items() if k.startswith("drifted:") and v >= 1)
    quality = m.get("accuracy", m.get("r2"))
    open_alerts = sum(1 for a in alerts if a.monitor == monitor.name and a.status.is_active)
    return [
        monitor.name,
        monitor.reference,
        len(results),
        _ts(latest.end_ms) if latest else "-",
        latest.rows if latest else "-",
        _num(m.get("share_drifted")),
        ", ".join(drifted) or "-",
        _num(quality),
        _num(m.get("p95_latency_ms")),
        open_alerts,
    ]


def _num(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float | int):
        return f"{value:.4g}"
    return str(value)


def _dt(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat()


def _ts(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
