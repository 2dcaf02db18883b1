"""Experiments, runs, a run's metrics and artifacts, and runs compared side by side."""

from __future__ import annotations

import io
import json
import mimetypes
from typing import Annotated, Any
from urllib.parse import urlencode

import pandas as pd
import plotly.graph_objects as go
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from modelyard.domain.lineage import NodeKind, NodeRef
from modelyard.domain.tracking import Run
from modelyard.errors import InvalidInput, NotFound
from modelyard.ui._charts import fragment, smooth
from modelyard.ui._lineage import lineage_view
from modelyard.ui._render import backend_of, render

router = APIRouter()

PAGE_SIZE = 50
PREVIEW_BYTES = 256 * 1024
TABLE_PREVIEW_ROWS = 50
_TEXT = (".txt", ".log", ".md", ".py", ".yaml", ".yml", ".toml", ".cfg", ".ini", ".sql", ".sh")
_IMAGES = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp")


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/experiments", status_code=303)


@router.get("/experiments")
def experiments(request: Request) -> HTMLResponse:
    backend = backend_of(request)
    rows = backend.experiments.list()
    return render(request, "experiments.html", {"experiments": rows})


@router.get("/experiments/{experiment_id}")
def runs(
    request: Request,
    experiment_id: str,
    filter: str = "",
    order_by: str = "",
    columns: str = "",
    page_token: str | None = None,
) -> HTMLResponse:
    """The runs table: the filter language in a box (errors with the caret), chosen columns, sort
    by any column, pages of ``PAGE_SIZE`` (an offset token: one indexed query per page)."""
    backend = backend_of(request)
    experiment = backend.experiments.get(experiment_id)
    error = ""
    page: list[Run] = []
    next_token = None
    try:
        result = backend.search.search(
            [experiment.experiment_id],
            filter or None,
            [order_by] if order_by else None,
            max_results=PAGE_SIZE,
            page_token=page_token or None,
        )
        page, next_token = list(result), result.token
    except InvalidInput as exc:
        error = exc.message
    chosen = [c.strip() for c in columns.split(",") if c.strip()] or _default_columns(page)
    context = {
        "experiment": experiment,
        "runs": page,
        "filter": filter,
        "order_by": order_by,
        "columns": ",".join(chosen),
        "chosen": chosen,
        "error": error,
        "next_token": next_token,
        "page_token": page_token or "",
        "cell": _cell,
    }
    return render(request, "runs.html", context)


def _default_columns(page: list[Run]) -> list[str]:
    """The metrics and params most runs on the page have, metrics first (at most eight)."""
    metrics: dict[str, int] = {}
    params: dict[str, int] = {}
    for run in page:
        for key in run.data.metrics:
            metrics[key] = metrics.get(key, 0) + 1
        for key in run.data.params:
            params[key] = params.get(key, 0) + 1
    ranked = [f"metrics.{k}" for k in sorted(metrics, key=lambda k: -metrics[k])]
    ranked += [f"params.{k}" for k in sorted(params, key=lambda k: -params[k])]
    return ranked[:8]


def _cell(run: Run, column: str) -> Any:
    kind, _, key = column.partition(".")
    if kind == "metrics":
        return run.data.metrics.get(key)
    if kind == "params":
        return run.data.params.get(key)
    if kind == "tags":
        return run.data.tags.get(key)
    return getattr(run.info, key, None)


@router.get("/runs/{run_id}")
def run_page(
    request: Request, run_id: str, metrics: str = "", x: str = "step", log: bool = False, smoothing: float = 0.0
) -> HTMLResponse:
    backend = backend_of(request)
    run = backend.runs.get(backend.runs.resolve_id(run_id))
    keys = [k for k in metrics.split(",") if k] or sorted(run.data.metrics)[:4]
    chart = _metric_chart(request, [run], keys, x=x, log=log, smoothing=smoothing) if run.data.metrics else ""
    inputs = backend.datasets.inputs_of_run(run.info.run_id)
    children = backend.runs.get_many(backend.runs.children(run.info.run_id))
    graph = backend.lineage.graph(NodeRef(kind=NodeKind.RUN, id=run.info.run_id), max_depth=3)
    view = lineage_view(graph)
    context = {
        "run": run,
        "chart": chart,
        "keys": keys,
        "x": x,
        "log": log,
        "smoothing": smoothing,
        "inputs": inputs,
        "children": children,
        "lineage": view,
        "charts": bool(chart) or bool(view["sankey"]),
        "artifacts": backend.artifacts.list(run.info.run_id),
    }
    return render(request, "run.html", context)


def _metric_chart(request: Request, runs: list[Run], keys: list[str], *, x: str, log: bool, smoothing: float) -> str:
    """Every ``key`` of every run as one line, by step or by wall time, optionally smoothed."""
    if x not in ("step", "time"):
        raise InvalidInput(f"x must be 'step' or 'time', got {x!r}")
    backend = backend_of(request)
    fig = go.Figure()
    for run in runs:
        for key in keys:
            if key not in run.data.metrics:
                continue
            history = backend.metrics.history(run.info.run_id, key)
            xs: list[Any] = (
                [m.step for m in history] if x == "step" else [pd.Timestamp(m.timestamp, unit="ms") for m in history]
            )
            ys = smooth([m.value for m in history], smoothing)
            name = key if len(runs) == 1 else f"{run.info.run_name or run.info.run_id[:8]} · {key}"
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers" if len(xs) < 50 else "lines", name=name))
    fig.update_yaxes(type="log" if log else "linear")
    fig.update_xaxes(title=x)
    return fragment(fig, title=", ".join(keys))


@router.get("/runs/{run_id}/artifacts")
def artifacts(request: Request, run_id: str, path: str = "") -> HTMLResponse:
    """A folder's listing, or a file's preview: text, JSON, images, tables and HTML reports."""
    backend = backend_of(request)
    run = backend.runs.get(backend.runs.resolve_id(run_id))
    listing = backend.artifacts.list(run.info.run_id, path or None)
    preview: dict[str, Any] | None = None
    if path and not listing:
        preview = _preview(request, run.info.run_id, path)
    context = {"run": run, "path": path, "listing": listing, "preview": preview}
    return render(request, "artifacts.html", context)


def _preview(request: Request, run_id: str, path: str) -> dict[str, Any]:
    lower = path.lower()
    raw = f"/runs/{run_id}/artifact?" + urlencode({"path": path})
    if lower.endswith(_IMAGES):
        return {"kind": "image", "src": raw}
    if lower.endswith((".html", ".htm")):
        return {"kind": "html", "src": raw}
    data = backend_of(request).artifacts.read_bytes(run_id, path)
    if lower.endswith((".parquet", ".pq", ".csv")):
        reader = pd.read_parquet if lower.endswith((".parquet", ".pq")) else pd.read_csv
        frame = reader(io.BytesIO(data))
        shown = frame.head(TABLE_PREVIEW_ROWS)
        rows = shown.astype(object).where(shown.notna(), None).values.tolist()
        return {"kind": "table", "columns": [str(c) for c in frame.columns], "rows": rows, "total": len(frame)}
    if b"\x00" in data[:8192]:
        return {"kind": "binary", "size": len(data), "raw": raw}
    text = data[:PREVIEW_BYTES].decode("utf-8", errors="replace")
    if lower.endswith(".json"):
        try:
            text = json.dumps(json.loads(data), indent=2)[:PREVIEW_BYTES]
        except ValueError:
            pass
    truncated = len(data) > PREVIEW_BYTES
    return {"kind": "text", "text": text, "truncated": truncated, "raw": raw}


@router.get("/runs/{run_id}/artifact")
def artifact_raw(request: Request, run_id: str, path: str) -> Response:
    """The file itself; HTML is sandboxed (no scripts of its own run with this site's cookies)."""
    backend = backend_of(request)
    data = backend.artifacts.read_bytes(backend.runs.resolve_id(run_id), path)
    media_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
    headers = {"Content-Security-Policy": "sandbox allow-scripts", "X-Content-Type-Options": "nosniff"}
    return Response(data, media_type=media_type, headers=headers)


@router.get("/compare")
def compare(
    request: Request,
    run: Annotated[list[str] | None, Query()] = None,
    runs: str = "",
    metric: str = "",
    smoothing: float = 0.0,
) -> HTMLResponse:
    """Runs side by side: one chart with every run, params with differences marked, and a
    parallel-coordinates plot of the numeric params and metrics."""
    backend = backend_of(request)
    ids = [*(run or []), *(r for r in runs.split(",") if r)]
    if len(ids) < 2:
        raise InvalidInput("choose at least two runs to compare (tick them in the runs table)")
    chosen = [backend.runs.get(backend.runs.resolve_id(i)) for i in dict.fromkeys(ids)]
    metric_keys = sorted({k for r in chosen for k in r.data.metrics})
    param_keys = sorted({k for r in chosen for k in r.data.params})
    key = metric or (metric_keys[0] if metric_keys else "")
    chart = _metric_chart(request, chosen, [key], x="step", log=False, smoothing=smoothing) if key else ""
    param_rows = [(k, [r.data.params.get(k) for r in chosen]) for k in param_keys]
    metric_rows = [(k, [r.data.metrics.get(k) for r in chosen]) for k in metric_keys]
    context = {
        "runs": chosen,
        "metric": key,
        "metric_keys": metric_keys,
        "chart": chart,
        "parallel": _parallel(chosen, param_keys, metric_keys),
        "param_rows": param_rows,
        "metric_rows": metric_rows,
        "charts": True,
    }
    return render(request, "compare.html", context)


def _parallel(runs: list[Run], param_keys: list[str], metric_keys: list[str]) -> str:
    dimensions = []
    for kind, keys in (("params", param_keys), ("metrics", metric_keys)):
        for key in keys:
            raw = [getattr(r.data, kind).get(key) for r in runs]
            values = pd.to_numeric(pd.Series(raw, dtype=object), errors="coerce")
            if values.notna().all() and values.nunique() > 0:
                dimensions.append({"label": f"{kind}.{key}", "values": values.tolist()})
    if len(dimensions) < 2:
        return ""
    fig = go.Figure(go.Parcoords(dimensions=dimensions))
    return fragment(fig, title="parameters and metrics")


@router.get("/runs")
def run_by_id(run_id: str = "") -> RedirectResponse:
    """The search box of the frame: a run id or a unique prefix of one."""
    if not run_id:
        raise NotFound("give a run id")
    return RedirectResponse(f"/runs/{run_id}", status_code=303)
