"""MLflow's logging calls: ``log-metric``, ``log-batch`` and the metric history.

A batch is one transaction (params, tags and metrics all stored, or none), as in MLflow. MLflow 3's
``log_model`` logs the run's metrics a second time with the new model's id attached; those copies
are already in the run's history, so a metric that carries a ``model_id`` and equals a stored
value is not stored twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query

from modelyard.domain.tracking import Metric
from modelyard.errors import InvalidInput
from modelyard.sdk.backends.local import LocalBackend
from modelyard.server.mlflow_compat import _wire as wire
from modelyard.server.mlflow_compat._bodies import Body, Int64, KeyValue, as_dict, run_id_of
from modelyard.server.mlflow_compat._deps import Backend
from modelyard.server.mlflow_compat._errors import MlflowRoute
from modelyard.server.mlflow_compat._heartbeats import alive
from modelyard.server.mlflow_compat._wire import parse_number
from modelyard.tracking import make_metric

router = APIRouter(route_class=MlflowRoute, tags=["mlflow: metrics"])

MAX_HISTORY_PAGE = 25_000


class MetricBody(Body):
    key: str
    value: float | str
    timestamp: Int64 | None = None
    step: Int64 | None = 0
    model_id: str | None = None


class LogMetric(MetricBody):
    run_id: str | None = None
    run_uuid: str | None = None


class LogBatch(Body):
    run_id: str
    metrics: list[MetricBody] = []
    params: list[KeyValue] = []
    tags: list[KeyValue] = []


def _metric(body: MetricBody) -> Metric:
    try:
        value = parse_number(body.value)
    except ValueError:
        raise InvalidInput(f"metric {body.key!r}: {body.value!r} is not a number") from None
    return make_metric(body.key, value, step=body.step or 0, timestamp=body.timestamp)


@router.post("/runs/log-metric")
def log_metric(body: LogMetric, backend: Backend) -> dict[str, Any]:
    run_id = run_id_of(body.run_id, body.run_uuid)
    backend.metrics.log(run_id, _new_metrics(backend, run_id, [body]))
    alive(backend, run_id)
    return {}


@router.post("/runs/log-batch")
def log_batch(body: LogBatch, backend: Backend) -> dict[str, Any]:
    tags = as_dict(body.tags)
    if tags.get(wire.RUN_NAME_TAG):
        backend.runs.rename(body.run_id, tags[wire.RUN_NAME_TAG])
    backend.runs.log_batch(
        body.run_id,
        metrics=_new_metrics(backend, body.run_id, body.metrics),
        params=as_dict(body.params),
        tags=tags,
    )
    alive(backend, body.run_id)
    return {}


@router.get("/metrics/get-history")
def get_history(
    backend: Backend,
    metric_key: str,
    run_id: str | None = None,
    run_uuid: str | None = None,
    max_results: Annotated[int, Query(ge=1, le=MAX_HISTORY_PAGE)] = MAX_HISTORY_PAGE,
    page_token: str | None = None,
) -> dict[str, Any]:
    history = backend.metrics.history(run_id_of(run_id, run_uuid), metric_key)
    offset = int(page_token) if page_token and page_token.isdigit() else 0
    answer: dict[str, Any] = {"metrics": [wire.metric(m) for m in history[offset : offset + max_results]]}
    if offset + max_results < len(history):
        answer["next_page_token"] = str(offset + max_results)
    return answer


def _new_metrics(backend: LocalBackend, run_id: str, bodies: Sequence[MetricBody]) -> list[Metric]:
    """The metrics to store: all of them, less copies (tagged with a model id) of stored values."""
    metrics = [_metric(b) for b in bodies]
    copies = {m.key for m, b in zip(metrics, bodies, strict=True) if b.model_id}
    if not copies:
        return metrics
    stored = {(h.key, h.step, h.timestamp, h.value) for key in copies for h in backend.metrics.history(run_id, key)}
    return [
        m
        for m, b in zip(metrics, bodies, strict=True)
        if not (b.model_id and (m.key, m.step, m.timestamp, m.value) in stored)
    ]
