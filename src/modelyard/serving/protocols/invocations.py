"""MLflow's scoring endpoint, ``POST /invocations``, so MLflow clients and scripts work unchanged.

JSON bodies carry exactly one of ``dataframe_split``, ``dataframe_records``, ``instances`` or
``inputs`` (plus an optional ``params``, accepted and ignored); ``text/csv`` bodies are a CSV with a
header row. The answer is ``{"predictions": [...]}``; errors use MLflow's scoring server's shape
and statuses, ``{"error_code": ..., "message": ..., "error_class": ...}``: a request the model's
signature refuses is a 400 ``INVALID_PARAMETER_VALUE`` here, as in MLflow (modelyard's own routes
answer 422).
``GET /version`` answers the server's version as MLflow's does (plain text).

MLflow serves one model per server. Here ``/invocations`` answers for the only deployment when
there is one, otherwise for the one named in the ``x-modelyard-deployment`` header;
``/deployments/{name}/invocations`` names it in the path (what mlflow#12589 asks for).
"""

from __future__ import annotations

import importlib.metadata
import io
from typing import Any

import pandas as pd
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from modelyard.errors import InvalidInput, ModelyardError, NotFound
from modelyard.serving.dispatch import Answer, Dispatcher
from modelyard.serving.http import DEPLOYMENT_HEADER, UnsupportedMediaType, parse_json
from modelyard.serving.plan import DeploymentPlan
from modelyard.serving.protocols._frames import from_columns, from_matrix, from_records, from_rows
from modelyard.serving.protocols._handler import Parsed, predictions, serve

FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")

_ERROR_CODES = {
    400: "BAD_REQUEST",
    404: "RESOURCE_DOES_NOT_EXIST",
    413: "BAD_REQUEST",
    415: "BAD_REQUEST",
    422: "INVALID_PARAMETER_VALUE",
}
# MLflow derives error_class from error_code (mlflow.error_classification.ErrorClass)
_ERROR_CLASSES = {
    "BAD_REQUEST": "INVALID_PARAMETER_VALUE",
    "INVALID_PARAMETER_VALUE": "SCHEMA_ENFORCEMENT_FAILED",  # only signature refusals map to this code
    "RESOURCE_DOES_NOT_EXIST": "RESOURCE_NOT_FOUND",
}


def _parse(body: bytes, request: Request, plan: DeploymentPlan) -> Parsed[None]:
    content_type = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if content_type == "text/csv":
        return Parsed(frame=_csv(body), context=None)
    if content_type != "application/json":
        raise UnsupportedMediaType(f"content type {content_type!r} is not supported; use application/json or text/csv")
    data = parse_json(body)
    if not isinstance(data, dict):
        raise InvalidInput(f"the JSON body must be an object with one of the keys {list(FORMATS)}")
    present = [key for key in FORMATS if key in data]
    unknown = sorted(set(data) - set(FORMATS) - {"params"})
    if len(present) != 1 or unknown:
        raise InvalidInput(
            f"the JSON body must have exactly one of the keys {list(FORMATS)} (and optionally 'params'); "
            f"got {sorted(data)}"
        )
    key = present[0]
    signature = plan.default.predictor.signature
    return Parsed(frame=_frame(key, data[key], signature), context=None)


def _frame(key: str, value: Any, signature: Any) -> pd.DataFrame:
    if key == "dataframe_split":
        if not isinstance(value, dict) or "data" not in value:
            raise InvalidInput("dataframe_split must be an object with 'columns' and 'data'")
        if "columns" not in value:
            return from_matrix(value["data"], signature, what="dataframe_split")
        return from_rows(value["data"], value["columns"], what="dataframe_split")
    if key == "dataframe_records":
        return from_records(value, what="dataframe_records")
    if isinstance(value, dict):
        return from_columns(value, what=key)
    if isinstance(value, list) and value and isinstance(value[0], list):
        return from_matrix(value, signature, what=key)
    return from_records(value, what=key)


def _csv(body: bytes) -> pd.DataFrame:
    if not body.strip():
        raise InvalidInput("the CSV body is empty")
    try:
        frame = pd.read_csv(io.BytesIO(body))
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read the CSV body: {str(exc).splitlines()[0]}") from None
    if frame.empty:
        raise InvalidInput("the CSV body has a header but no rows")
    return frame


def _render(answer: Answer, context: None) -> dict[str, Any]:
    return {"predictions": predictions(answer.prediction)}


def _error(exc: ModelyardError) -> dict[str, Any]:
    code = _ERROR_CODES.get(exc.http_status, "INTERNAL_ERROR")
    return {
        "error_code": code,
        "message": exc.message,
        "error_class": _ERROR_CLASSES.get(code, "CLIENT_INTERNAL_ERROR"),
    }


def _status(status: int) -> int:
    """MLflow's scoring server answers a request its signature refuses with 400, not 422."""
    return 400 if status == 422 else status


def routes(dispatcher: Dispatcher, *, max_body_bytes: int) -> list[Route]:
    def target(request: Request) -> str:
        named = request.path_params.get("name") or request.headers.get(DEPLOYMENT_HEADER)
        if named:
            return str(named)
        deployments = list(dispatcher.holder.current.deployments)
        if len(deployments) == 1:
            return deployments[0]
        return ""

    async def invocations(request: Request) -> Response:
        name = target(request)
        if not name:
            exc = NotFound(f"several deployments are served; name one in the {DEPLOYMENT_HEADER} header")
            return JSONResponse(_error(exc), status_code=404)
        return await serve(
            dispatcher,
            request,
            deployment=name,
            parse=_parse,
            render=_render,
            error=_error,
            max_body_bytes=max_body_bytes,
            status_of=_status,
        )

    async def ping(request: Request) -> Response:
        return Response("\n", media_type="application/json")

    async def version(request: Request) -> Response:
        return Response(importlib.metadata.version("modelyard"), media_type="application/json")

    return [
        Route("/invocations", invocations, methods=["POST"]),
        Route("/deployments/{name}/invocations", invocations, methods=["POST"]),
        Route("/ping", ping, methods=["GET"]),
        Route("/health", ping, methods=["GET"]),
        Route("/version", version, methods=["GET"]),
    ]
