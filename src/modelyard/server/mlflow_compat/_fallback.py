"""MLflow calls this server does not answer (traces, prompts, webhooks, ...): a 404 in MLflow's
shape, ``ENDPOINT_NOT_FOUND``, which the mlflow client reports as "not supported by the server"
instead of failing to parse the body. Mounted after every real route, so it only sees the rest."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from modelyard.server.mlflow_compat._errors import MlflowRoute, mlflow_error

router = APIRouter(route_class=MlflowRoute)


@router.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
def not_supported(rest: str, request: Request) -> JSONResponse:
    return mlflow_error(
        "ENDPOINT_NOT_FOUND",
        f"{request.method} {request.url.path} is not part of modelyard's MLflow-compatible API",
        404,
    )
