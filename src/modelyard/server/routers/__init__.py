"""One router per context of ``/api/v1``; each only translates HTTP to one service call."""

from fastapi import APIRouter

from modelyard.server.routers import (
    artifacts,
    auth,
    datasets,
    deployments,
    experiments,
    governance,
    health,
    logged_models,
    metrics,
    monitoring,
    pipelines,
    registry,
    runs,
    users,
)

ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    experiments.router,
    runs.router,
    metrics.router,
    artifacts.router,
    auth.router,
    users.router,
    registry.router,
    logged_models.router,
    datasets.router,
    governance.router,
    deployments.router,
    pipelines.router,
    monitoring.router,
)

__all__ = ["ROUTERS"]
