"""MLflow's error shape for the MLflow-compatible routes, and only for them.

The ``mlflow`` client reads ``{"error_code": ..., "message": ...}`` and decides by the code (a
``RESOURCE_DOES_NOT_EXIST`` from ``get-by-name`` means "create it"), and it retries 5xx answers
seven times with backoff, so every deterministic failure must be a 4xx here. Each modelyard error
class maps to the MLflow code and status that mean the same thing to the client.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from modelyard import errors

_CODES: tuple[tuple[type[errors.ModelyardError], str, int], ...] = (
    (errors.NotFound, "RESOURCE_DOES_NOT_EXIST", 404),
    (errors.AlreadyExists, "RESOURCE_ALREADY_EXISTS", 400),
    (errors.InvalidInput, "INVALID_PARAMETER_VALUE", 400),
    # A state that forbids the call (a param already logged, a deleted run): MLflow answers these
    # with INVALID_PARAMETER_VALUE / 400 too, and a 5xx would make the client retry for minutes.
    (errors.Conflict, "INVALID_PARAMETER_VALUE", 400),
    (errors.PermissionDenied, "PERMISSION_DENIED", 403),
    (errors.Unauthenticated, "UNAUTHENTICATED", 401),
    (errors.BackendUnavailable, "TEMPORARILY_UNAVAILABLE", 503),
)


def mlflow_error(code: str, message: str, status: int) -> JSONResponse:
    """The body MLflow's server sends for an error."""
    return JSONResponse({"error_code": code, "message": message}, status_code=status)


def translate(exc: errors.ModelyardError) -> JSONResponse:
    """The MLflow answer for a modelyard error (the most specific class wins)."""
    for kind, code, status in _CODES:
        if isinstance(exc, kind):
            return mlflow_error(code, exc.message, status)
    return mlflow_error("INTERNAL_ERROR", exc.message, 500)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for problem in exc.errors():
        where = ".".join(str(p) for p in problem.get("loc", ()) if p not in ("body", "query", "path"))
        parts.append(f"{where or 'request'}: {problem.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


class MlflowRoute(APIRoute):
    """A route that answers modelyard errors and malformed requests in MLflow's error shape.

    FastAPI's exception handlers belong to the whole app, where the server's own ``/api/v1`` shape
    rules; translating in the route class keeps MLflow's shape to these routes alone.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except errors.ModelyardError as exc:
                return translate(exc)
            except RequestValidationError as exc:
                return mlflow_error("INVALID_PARAMETER_VALUE", _validation_message(exc), 400)

        return handle
