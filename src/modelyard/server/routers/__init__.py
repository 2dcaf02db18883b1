"""One router per context of ``/api/v1``; each only translates HTTP to one service call."""

from fastapi import APIRouter

from modelyard.server.routers import artifacts, auth, experiments, health, metrics, runs, users

ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    experiments.router,
    runs.router,
    metrics.router,
    artifacts.router,
    auth.router,
    users.router,
)

__all__ = ["ROUTERS"]
