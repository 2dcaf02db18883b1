"""``/api/v1/monitors`` and ``/api/v1/alerts``: drift and performance monitors, their window
results, and the alerts their rules raised (read here; monitors run next to the inference log)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from modelyard.domain.monitoring import Alert, AlertStatus, Monitor, MonitorResult
from modelyard.monitoring import AlertService
from modelyard.monitoring.monitors import MonitorService
from modelyard.server.deps import BackendDep
from modelyard.server.errors import ERROR_RESPONSES
from modelyard.server.pagination import DEFAULT_PAGE, MaxResults, PageToken, page_of, paginate
from modelyard.server.schemas import schema_for

router = APIRouter(prefix="/api/v1", tags=["monitoring"], responses=ERROR_RESPONSES)
MonitorOut = schema_for(Monitor)
MonitorResultOut = schema_for(MonitorResult)
AlertOut = schema_for(Alert)


def _monitors(backend: Any) -> MonitorService:
    return MonitorService(backend.db, backend.inference_log, _no_reference)


def _no_reference(uri: str) -> Any:
    raise AssertionError("reading monitors never loads a reference")


@router.get("/monitors", response_model=page_of(MonitorOut))
def list_monitors(
    backend: BackendDep,
    deployment: str | None = Query(default=None, max_length=256),
    max_results: MaxResults = DEFAULT_PAGE,
    page_token: PageToken = None,
) -> Any:
    return paginate(_monitors(backend).list(deployment), max_results, page_token)


@router.get("/monitors/{name}", response_model=MonitorOut)
def get_monitor(name: str, backend: BackendDep) -> Any:
    return _monitors(backend).get(name)


@router.get("/monitors/{name}/results", response_model=page_of(MonitorResultOut))
def monitor_results(
    name: str, backend: BackendDep, max_results: MaxResults = DEFAULT_PAGE, page_token: PageToken = None
) -> Any:
    return paginate(_monitors(backend).results(name, detail=False), max_results, page_token)


@router.get("/alerts", response_model=page_of(AlertOut))
def list_alerts(
    backend: BackendDep,
    status: AlertStatus | None = None,
    active: bool = False,
    monitor: str | None = Query(default=None, max_length=256),
    deployment: str | None = Query(default=None, max_length=256),
    max_results: MaxResults = DEFAULT_PAGE,
    page_token: PageToken = None,
) -> Any:
    """Alerts, newest first (the newest 10,000)."""
    alerts = AlertService(backend.db).list(
        status=status, active=active, monitor=monitor, deployment=deployment, limit=10_000
    )
    return paginate(alerts, max_results, page_token)


@router.get("/alerts/{alert_id}", response_model=AlertOut)
def get_alert(alert_id: str, backend: BackendDep) -> Any:
    return AlertService(backend.db).get(alert_id)
