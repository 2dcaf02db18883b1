"""Per-prediction explanations: ``POST /v1/deployments/{name}/explain`` and KServe V1's ``/v1/models/{name}:explain``.

Bodies are read as their predict counterparts read them (modelyard's JSON records; KServe V1's
``{"instances": [...]}`` of objects, or of lists in the signature's column order) and checked
against the model's signature the same way, with the same statuses and error shapes (a column
that breaks the signature is a 422 naming it). The variant is chosen as for a prediction (a
sticky caller is explained by the model that answers it). Each row's answer::

    {"prediction": ..., "base_value": 0.42, "output": 0.91, "attributions": {"age": 0.31, ...}}

where ``base_value`` plus the attributions is ``output``, the value explained (``output_space``
says which: a probability, log-odds, a regression output). The explainer is built once per
loaded model (``serving.explainers``) and runs in a worker thread: an explanation costs more than
a prediction and must not hold up the predictions the event loop is serving.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from modelyard.errors import InvalidInput, ModelyardError
from modelyard.explain import Attributions, Explainer
from modelyard.serving.dispatch import Dispatcher
from modelyard.serving.explainers import ExplainerCache
from modelyard.serving.http import (
    MODEL_VERSION_HEADER,
    REQUEST_ID_HEADER,
    VARIANT_HEADER,
    InputRejected,
    dump_json,
    parse_json,
    read_body,
    request_id,
)
from modelyard.serving.plan import DeploymentPlan, Variant
from modelyard.serving.protocols._frames import from_matrix, from_records
from modelyard.serving.protocols._handler import predictions
from modelyard.serving.rows import frame_of

logger = logging.getLogger(__name__)

Parser = Callable[[Any, DeploymentPlan], pd.DataFrame]
ErrorShape = Callable[[ModelyardError], dict[str, Any]]


def _records(data: Any, plan: DeploymentPlan) -> pd.DataFrame:
    if isinstance(data, dict):
        if "records" in data:
            extra = sorted(set(data) - {"records"})
            if extra:
                raise InvalidInput(f"unexpected keys beside 'records': {extra}")
            data = data["records"]
        else:
            data = [data]
    return frame_of(from_records(data))


def _instances(data: Any, plan: DeploymentPlan) -> pd.DataFrame:
    if not isinstance(data, dict) or "instances" not in data:
        raise InvalidInput('a KServe V1 body is {"instances": [...]}')
    instances = data["instances"]
    if isinstance(instances, list) and instances and isinstance(instances[0], list):
        return frame_of(from_matrix(instances, plan.default.predictor.signature, what="instances"))
    return frame_of(from_records(instances, what="instances"))


def _modelyard_error(exc: ModelyardError) -> dict[str, Any]:
    return exc.to_dict()


def _kserve_error(exc: ModelyardError) -> dict[str, Any]:
    return {"error": exc.message}


def _without_key(frame: pd.DataFrame, deployment: DeploymentPlan, variant: Variant) -> pd.DataFrame:
    """Drop a sticky routing field the model does not take, as predictions do."""
    sticky = deployment.sticky
    if sticky is None or sticky.source != "field" or sticky.name not in frame.columns:
        return frame
    signature = variant.predictor.signature
    if signature is not None and sticky.name in signature.input_names:
        return frame
    return frame.drop(columns=[sticky.name])


def _explain(cache: ExplainerCache, variant: Variant, frame: pd.DataFrame) -> tuple[Explainer, Attributions, Any]:
    """Explain and predict ``frame`` with ``variant`` (in a worker thread)."""
    explainer = cache.get(variant.predictor)
    try:
        conformed = explainer.conform(frame)
    except InvalidInput as exc:
        raise InputRejected(exc.message, **exc.details) from None
    attributions = explainer.explain_conformed(conformed)
    prediction = variant.predictor.predict(conformed)
    return explainer, attributions, prediction


def _render(explainer: Explainer, attributions: Attributions, prediction: Any) -> list[dict[str, Any]]:
    rows = predictions(prediction)
    values = attributions.values
    outputs = attributions.outputs
    features = attributions.features
    return [
        {
            "prediction": rows[i],
            "base_value": attributions.base_value,
            "output": float(outputs[i]),
            "attributions": dict(zip(features, np.asarray(values[i], dtype=float).tolist(), strict=True)),
        }
        for i in range(len(values))
    ]


async def _serve(
    dispatcher: Dispatcher,
    cache: ExplainerCache,
    request: Request,
    *,
    deployment: str,
    parse: Parser,
    error: ErrorShape,
    max_body_bytes: int,
) -> Response:
    rid = request_id(request)
    try:
        plan = dispatcher.deployment(deployment)
        body = await read_body(request, max_body_bytes)
        data = parse_json(body)
        try:
            frame = parse(data, plan)
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            raise InvalidInput(f"cannot read the request: {exc}") from None
        variant = dispatcher.choose(plan, frame, request.headers)
        frame = _without_key(frame, plan, variant)
        explainer, attributions, prediction = await run_in_threadpool(_explain, cache, variant, frame)
        content = {
            "explanations": _render(explainer, attributions, prediction),
            "output_space": explainer.output,
            "method": explainer.kind.value,
            "exact": explainer.exact,
            "deployment": plan.name,
            "variant": variant.name,
            "model_version": variant.model_version,
            "request_id": rid,
        }
    except ModelyardError as exc:
        return _response(error(exc), exc.http_status, {REQUEST_ID_HEADER: rid})
    except Exception:
        logger.exception("unexpected failure explaining for %s", deployment)
        return _response(error(ModelyardError("internal server error")), 500, {REQUEST_ID_HEADER: rid})
    headers = {REQUEST_ID_HEADER: rid, VARIANT_HEADER: variant.name, MODEL_VERSION_HEADER: variant.model_version}
    return _response(content, 200, headers)


def _response(body: dict[str, Any], status: int, headers: dict[str, str]) -> Response:
    return Response(dump_json(body), status_code=status, media_type="application/json", headers=headers)


def routes(dispatcher: Dispatcher, cache: ExplainerCache, *, max_body_bytes: int) -> list[Route]:

    async def explain(request: Request) -> Response:
        return await _serve(
            dispatcher,
            cache,
            request,
            deployment=request.path_params["name"],
            parse=_records,
            error=_modelyard_error,
            max_body_bytes=max_body_bytes,
        )

    async def kserve_explain(request: Request) -> Response:
        return await _serve(
            dispatcher,
            cache,
            request,
            deployment=request.path_params["name"],
            parse=_instances,
            error=_kserve_error,
            max_body_bytes=max_body_bytes,
        )

    return [
        Route("/v1/deployments/{name}/explain", explain, methods=["POST"]),
        Route("/v1/models/{name}:explain", kserve_explain, methods=["POST"]),
    ]
