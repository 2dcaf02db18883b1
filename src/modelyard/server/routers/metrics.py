"""``/api/v1/runs/{run_id}/metrics``: batched logging and paged history."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from modelyard.server.deps import BackendDep
from modelyard.server.errors import ERROR_RESPONSES
from modelyard.server.pagination import MaxResults, PageToken, paginate
from modelyard.server.schemas.tracking import MetricPage, MetricsIn

router = APIRouter(prefix="/api/v1/runs/{run_id}/metrics", tags=["metrics"], responses=ERROR_RESPONSES)


@router.post("", status_code=status.HTTP_204_NO_CONTENT)
def log_metrics(run_id: str, body: MetricsIn, backend: BackendDep) -> None:
    """A batch of metric values (the SDK's buffered ``log_metric`` sends up to 1,000 at once)."""
    backend.metrics.log(run_id, [m.to_domain() for m in body.metrics])


@router.get("/{key}/history", response_model=MetricPage)
def metric_history(
    run_id: str, key: str, backend: BackendDep, max_results: MaxResults = 10_000, page_token: PageToken = None
) -> dict[str, Any]:
    return paginate(backend.metrics.history(run_id, key), max_results, page_token)
