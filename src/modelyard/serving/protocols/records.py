"""modelyard's plain endpoint: ``POST /v1/deployments/{name}/predict`` with JSON records.

Body: a list of objects (one per row), ``{"records": [...]}``, or one object for one row.
Answer: ``{"predictions": [...], "deployment", "variant", "model_version", "request_id"}``.
Errors: modelyard's own shape, ``{"error": <type>, "message": ..., "details"?: {...}}``.
``GET /v1/deployments`` lists what is served and each variant's share of traffic.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from modelyard.errors import InvalidInput, ModelyardError
from modelyard.serving.dispatch import Answer, Dispatcher
from modelyard.serving.http import parse_json
from modelyard.serving.plan import DeploymentPlan
from modelyard.serving.protocols._frames import from_records
from modelyard.serving.protocols._handler import Parsed, predictions, serve


def _parse(body: bytes, request: Request, plan: DeploymentPlan) -> Parsed[None]:
    data = parse_json(body)
    if isinstance(data, dict):
        if "records" in data:
            extra = sorted(set(data) - {"records"})
            if extra:
                raise InvalidInput(f"unexpected keys beside 'records': {extra}")
            data = data["records"]
        else:
            data = [data]
    return Parsed(frame=from_records(data), context=None)


def _render(answer: Answer, context: None) -> dict[str, Any]:
    return {
        "predictions": predictions(answer.prediction),
        "deployment": answer.deployment.name,
        "variant": answer.variant.name,
        "model_version": answer.variant.model_version,
        "request_id": answer.request_id,
    }


def _error(exc: ModelyardError) -> dict[str, Any]:
    return exc.to_dict()


def routes(dispatcher: Dispatcher, *, max_body_bytes: int) -> list[Route]:
    async def predict(request: Request) -> Response:
        return await serve(
            dispatcher,
            request,
            deployment=request.path_params["name"],
            parse=_parse,
            render=_render,
            error=_error,
            max_body_bytes=max_body_bytes,
        )

    async def listing(request: Request) -> Response:
        plan = dispatcher.holder.current
        return JSONResponse(
            {
                "deployments": [
                    {
                        "name": d.name,
                        "sticky": None if d.sticky is None else {"source": d.sticky.source, "name": d.sticky.name},
                        "traffic": d.routes.shares(),
                        "variants": [
                            {"name": v.name, "model_version": v.model_version, "mode": v.mode.value, "weight": v.weight}
                            for v in d.variants
                        ],
                    }
                    for d in plan.deployments.values()
                ]
            }
        )

    return [
        Route("/v1/deployments", listing, methods=["GET"]),
        Route("/v1/deployments/{name}/predict", predict, methods=["POST"]),
    ]
