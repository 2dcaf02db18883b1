"""The one error shape of the REST API: ``{"code", "message", "details"}``.

``code`` is the ``modelyard.errors`` class name and the status is the class's ``http_status``, so
the remote SDK raises the same exception the embedded one would (``sdk/backends/rest.py`` maps the
code back). Request bodies and parameters that fail validation are ``InvalidInput`` (400), with
pydantic's list of what was wrong under ``details.errors``. The MLflow-compatible routes answer in
MLflow's shape from their own handler.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from modelyard import errors
from modelyard.server.auth import is_api
from modelyard.ui.app import ui_error

log = logging.getLogger(__name__)

_STATUS_CODES: dict[int, str] = {
    400: "InvalidInput",
    401: "Unauthenticated",
    403: "PermissionDenied",
    404: "NotFound",
    405: "InvalidInput",
    409: "Conflict",
    413: "InvalidInput",
    415: "InvalidInput",
    416: "InvalidInput",
    503: "BackendUnavailable",
}


class ErrorBody(BaseModel):
    """What every non-2xx answer of ``/api/v1`` carries."""

    code: str = Field(description="The modelyard error class, e.g. NotFound, InvalidInput, PermissionDenied")
    message: str = Field(description="One readable sentence saying what was wrong")
    details: dict[str, Any] = Field(default_factory=dict)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in {
        400: "Invalid input",
        401: "No valid credential",
        403: "Not allowed",
        404: "Not found",
        409: "Exists already, or the current state forbids it",
        413: "Request body too large",
        503: "Store unavailable",
    }.items()
}


def error_response(status: int, code: str, message: str, details: dict[str, Any] | None = None) -> JSONResponse:
    body = {"code": code, "message": message, "details": details or {}}
    return JSONResponse(body, status_code=status)


def _jsonable(details: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v if isinstance(v, (str, int, float, bool, type(None), list, dict)) else str(v) for k, v in details.items()
    }


async def _modelyard_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.ModelyardError)
    if not is_api(request.url.path):  # a web page: the UI's own error page, in its frame
        return await ui_error(request, exc)
    if exc.http_status >= 500:
        log.error("%s %s failed: %s", request.method, request.url.path, exc.message, exc_info=exc)
    details = {k: v for k, v in exc.details.items() if k != "audit_denial"}
    return error_response(exc.http_status, type(exc).__name__, exc.message, _jsonable(details))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        for e in exc.errors()
    ]
    where = ".".join(problems[0]["loc"]) if problems else ""
    what = str(problems[0]["msg"]) if problems else "invalid request"
    return error_response(400, "InvalidInput", f"{where}: {what}" if where else what, {"errors": problems})


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _STATUS_CODES.get(exc.status_code, "InvalidInput" if exc.status_code < 500 else "ModelyardError")
    response = error_response(exc.status_code, code, str(exc.detail))
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return error_response(500, "ModelyardError", f"internal error: {type(exc).__name__}")


def install_error_handlers(app: FastAPI) -> None:
    """Translate every exception a route can raise into ``ErrorBody``."""
    app.add_exception_handler(errors.ModelyardError, _modelyard_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
