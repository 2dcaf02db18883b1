"""What runs in production and how it is watched: pipeline runs and schedules, deployments with
their traffic and live figures, monitors with drift and performance over windows, and alerts."""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any
from urllib.parse import urlencode

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from modelyard.domain.monitoring import AlertStatus
from modelyard.domain.pipelines import StepStatus
from modelyard.errors import InvalidInput
from modelyard.monitoring import AlertService
from modelyard.monitoring.drift import DriftThresholds
from modelyard.pipelines import get_pipeline_run, list_pipeline_runs, list_step_runs
from modelyard.pipelines.triggers import list_schedules
from modelyard.sdk.client import Client
from modelyard.sdk.monitoring import monitoring
from modelyard.ui._charts import fragment
from modelyard.ui._render import backend_of, current_user, render

router = APIRouter()

LIVE_WINDOW_MS = 15 * 60 * 1000  # the deployment page's live figures: the last quarter of an hour
DRIFT_WINDOWS = 50
# The step graph's node colours, one per status (the badges' colours in style.css).
STEP_COLOURS: dict[StepStatus, str] = {
    StepStatus.COMPLETED: "#116329",
    StepStatus.CACHED: "#0b5cad",
    StepStatus.REUSED: "#0b5cad",
    StepStatus.FAILED: "#a40e26",
    StepStatus.RUNNING: "#7a4d00",
    StepStatus.PENDING: "#4b5563",
    StepStatus.SKIPPED: "#4b5563",
}


def _client(request: Request) -> Client:
    return Client(backend_of(request).settings)


@router.get("/pipelines")
def pipelines(request: Request) -> HTMLResponse:
    client = _client(request)
    context = {"runs": list_pipeline_runs(client, limit=200), "schedules": list_schedules(client)}
    return render(request, "pipelines.html", context)


@router.get("/pipelines/{run_id}")
def pipeline_run(request: Request, run_id: str) -> HTMLResponse:
    """A run's step graph: each step with its status, cached or not, duration and upstream steps."""
    client = _client(request)
    found = get_pipeline_run(client, run_id)
    steps = list_step_runs(client, run_id)
    return render(request, "pipeline.html", {"run": found, "steps": steps, "chart": _step_graph(steps), "charts": True})


def _step_graph(steps: list[Any]) -> str:
    """Steps placed by depth (longest path from a source) and drawn with their edges."""
    depth: dict[str, int] = {}
    by_id = {s.step_id: s for s in steps}

    def level(step_id: str, seen: frozenset[str] = frozenset()) -> int:
        if step_id in depth:
            return depth[step_id]
        ups = [u for u in by_id[step_id].upstream if u in by_id and u not in seen]
        depth[step_id] = 0 if not ups else 1 + max(level(u, seen | {step_id}) for u in ups)
        return depth[step_id]

    for s in steps:
        level(s.step_id)
    rows: Counter[int] = Counter()
    position: dict[str, tuple[int, int]] = {}
    for s in steps:
        d = depth[s.step_id]
        position[s.step_id] = (d, rows[d])
        rows[d] += 1
    colours = STEP_COLOURS
    fig = go.Figure()
    for s in steps:
        for u in s.upstream:
            if u in position:
                (x0, y0), (x1, y1) = position[u], position[s.step_id]
                fig.add_trace(go.Scatter(x=[x0, x1], y=[-y0, -y1], mode="lines", line={"color": "#8c959f"}))
    fig.add_trace(
        go.Scatter(
            x=[position[s.step_id][0] for s in steps],
            y=[-position[s.step_id][1] for s in steps],
            mode="markers+text",
            text=[s.step_id for s in steps],
            textposition="top center",
            marker={"size": 18, "color": [colours.get(s.status.value, "#7f7f7f") for s in steps]},
            hovertext=[f"{s.step_id}: {s.status.value}" for s in steps],
        )
    )
    fig.update_layout(showlegend=False)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fragment(fig, title="steps")


@router.get("/deployments")
def deployments(request: Request) -> HTMLResponse:
    return render(request, "deployments.html", {"deployments": backend_of(request).deployments.list()})


@router.get("/deployments/{name}")
def deployment(request: Request, name: str) -> HTMLResponse:
    """Variants and their traffic, the last quarter hour's figures from the inference log, the
    event history, and the promote / rollback / set-traffic forms."""
    backend = backend_of(request)
    found = backend.deployments.get(name)
    live = _live_figures(request, name)
    context = {
        "deployment": found,
        "events": backend.deployments.history(name, limit=100),
        "live": live,
        "flash": request.query_params.get("done"),
        "charts": bool(live.get("chart")),
    }
    return render(request, "deployment.html", context)


def _live_figures(request: Request, name: str) -> dict[str, Any]:
    """Request rate, latency percentiles, error and invalid rates per variant, and how often each
    shadow disagreed with the primary, from the requests recorded in the last ``LIVE_WINDOW_MS``."""
    backend = backend_of(request)
    now = int(pd.Timestamp.now(tz="UTC").value // 1_000_000)
    columns = ["request_id", "time_ms", "variant", "latency_ms", "status", "prediction"]
    frames = list(backend.inference_log.read_window(name, now - LIVE_WINDOW_MS, now + 1, columns))
    if not frames:
        return {"variants": [], "chart": ""}
    rows_frame = pd.concat(frames, ignore_index=True)
    requests = rows_frame.drop_duplicates(["request_id", "variant"])
    primary = _primary_name(request, name)
    answers = rows_frame.assign(prediction=rows_frame["prediction"].astype(str))
    answers = answers.groupby(["request_id", "variant"])["prediction"].agg("|".join).unstack()
    rows = []
    for variant, part in requests.groupby("variant"):
        latency = part["latency_ms"].to_numpy(dtype=float)
        status = part["status"].to_numpy(dtype=float)
        disagreement = None
        if variant != primary and primary in answers and variant in answers:
            both = answers[[primary, str(variant)]].dropna()
            disagreement = float((both[primary] != both[str(variant)]).mean()) if len(both) else None
        rows.append(
            {
                "variant": variant,
                "requests": len(part),
                "per_minute": len(part) / (LIVE_WINDOW_MS / 60_000),
                "p50": float(np.percentile(latency, 50)),
                "p95": float(np.percentile(latency, 95)),
                "p99": float(np.percentile(latency, 99)),
                "error_rate": float(np.mean(status >= 500)),
                "invalid_rate": float(np.mean((status >= 400) & (status < 500))),
                "disagreement": disagreement,
            }
        )
    fig = go.Figure()
    minutes = pd.to_datetime(requests["time_ms"], unit="ms").dt.floor("min")
    for variant, part in requests.assign(minute=minutes).groupby("variant"):
        counts = part.groupby("minute").size()
        fig.add_trace(go.Bar(x=counts.index, y=counts.to_numpy(), name=str(variant)))
    fig.update_layout(barmode="stack")
    return {"variants": rows, "chart": fragment(fig, title="requests per minute")}


def _primary_name(request: Request, name: str) -> str:
    found = backend_of(request).deployments.get(name)
    return next((v.name for v in found.variants if v.mode.value == "primary"), "")


@router.post("/deployments/{name}/{action}")
def deployment_action(
    request: Request,
    name: str,
    action: str,
    variant: Annotated[str, Form()] = "",
    weight: Annotated[str, Form()] = "",
    revision: Annotated[int | None, Form()] = None,
) -> RedirectResponse:
    """promote, rollback or set-traffic, checked by the deployment service (permission, approval
    policy, the revision the page showed: a stale page cannot undo someone else's change)."""
    deployments_ = backend_of(request).deployments
    actor = current_user(request)
    if action == "promote":
        done = deployments_.promote(name, variant or None, actor=actor, expected_revision=revision)
    elif action == "rollback":
        done = deployments_.rollback(name, actor=actor, expected_revision=revision)
    elif action == "traffic":
        try:
            share = float(weight)
        except ValueError:
            raise InvalidInput(f"weight must be a number from 0 to 100, got {weight!r}") from None
        done = deployments_.set_traffic(name, {variant: share}, actor=actor, expected_revision=revision)
    else:
        raise InvalidInput(f"unknown deployment action {action!r}: promote, rollback or traffic")
    message = f"{action} done: {name} is at revision {done.revision}"
    return RedirectResponse(f"/deployments/{name}?" + urlencode({"done": message}), status_code=303)


@router.get("/monitors")
def monitors(request: Request, status: str = "open") -> HTMLResponse:
    service = monitoring(backend_of(request))
    alerts = service.alerts.list(status=None if status == "all" else status)
    context = {
        "monitors": service.list(),
        "alerts": alerts,
        "status": status,
        "flash": request.query_params.get("done"),
    }
    return render(request, "monitors.html", context)


@router.get("/monitors/{name}")
def monitor(request: Request, name: str) -> HTMLResponse:
    """Drift per feature over the windows with the threshold line, and performance over time."""
    service = monitoring(backend_of(request))
    found = service.get(name)
    results = list(reversed(service.results(name, limit=DRIFT_WINDOWS, detail=True)))
    context = {
        "monitor": found,
        "results": results,
        "drift_chart": _drift_chart(results),
        "metric_chart": _metric_chart(results),
        "alerts": service.alerts.list(monitor=name),
        "charts": bool(results),
    }
    return render(request, "monitor.html", context)


def _drift_chart(results: list[Any]) -> str:
    """PSI per feature over the windows (the figure alert rules name as ``psi(f)``), with the
    moderate and significant thresholds drawn."""
    if not results:
        return ""
    x = [pd.Timestamp(r.end_ms, unit="ms") for r in results]
    features = sorted({k.split(":", 1)[1] for r in results for k in r.metrics if k.startswith("psi:")})
    if not features:
        return ""
    fig = go.Figure()
    for feature in features:
        values = [r.metrics.get(f"psi:{feature}") for r in results]
        fig.add_trace(go.Scatter(x=x, y=values, mode="lines+markers", name=feature))
    defaults = DriftThresholds()
    fig.add_hline(y=defaults.psi_moderate, line_dash="dot", annotation_text="moderate")
    fig.add_hline(y=defaults.psi_significant, line_dash="dash", annotation_text="significant")
    fig.update_yaxes(title="PSI")
    return fragment(fig, title="drift per feature over windows (PSI)")


def _metric_chart(results: list[Any]) -> str:
    keys = (
        [
            k
            for k in ("accuracy", "f1", "roc_auc", "rmse", "mae", "error_rate", "invalid_rate")
            if k in results[-1].metrics
        ]
        if results
        else []
    )
    if not keys:
        return ""
    fig = go.Figure()
    x = [pd.Timestamp(r.end_ms, unit="ms") for r in results]
    for key in keys:
        fig.add_trace(go.Scatter(x=x, y=[r.metrics.get(key) for r in results], mode="lines+markers", name=key))
    return fragment(fig, title="performance and errors over time")


@router.post("/alerts/{alert_id}/{action}")
def alert_action(request: Request, alert_id: str, action: str) -> RedirectResponse:
    alerts = AlertService(backend_of(request).db, actor=current_user(request))
    if action == "ack":
        done = alerts.acknowledge(alert_id)
    elif action == "resolve":
        done = alerts.resolve(alert_id)
    else:
        raise InvalidInput(f"unknown alert action {action!r}: ack or resolve")
    state = AlertStatus(done.status).value
    return RedirectResponse("/monitors?" + urlencode({"done": f"alert {done.id[:8]} is {state}"}), status_code=303)
