"""The one request path every prediction endpoint shares: read, parse, predict, render, report.

Protocols supply three functions (parse the body, render an answer, shape an error) and get the
same limits, status codes, headers, metrics and after-response reporting as every other protocol.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import pandas as pd
from starlette.background import BackgroundTask
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from modelyard.errors import InvalidInput, ModelyardError
from modelyard.serving.dispatch import Answer, Dispatcher
from modelyard.serving.http import (
    MODEL_VERSION_HEADER,
    REQUEST_ID_HEADER,
    VARIANT_HEADER,
    dump_json,
    read_body,
    request_id,
)
from modelyard.serving.metrics import NO_VARIANT
from modelyard.serving.plan import DeploymentPlan, Variant
from modelyard.serving.requests_log import CLIENT_CLOSED, CLIENT_CLOSED_STATUS
from modelyard.serving.rows import Inputs

logger = logging.getLogger(__name__)

C = TypeVar("C")


@dataclass(frozen=True, kw_only=True)
class Parsed(Generic[C]):
    """A parsed body: the model's input (a frame, or rows that become one when needed) and
    whatever the protocol needs to render later."""

    frame: Inputs
    context: C
    variant: Variant | None = None


Parser = Callable[[bytes, Request, DeploymentPlan], Parsed[C]]
Renderer = Callable[[Answer, C], Any]
ErrorShape = Callable[[ModelyardError], dict[str, Any]]


async def serve(
    dispatcher: Dispatcher,
    request: Request,
    *,
    deployment: str,
    parse: Parser[C],
    render: Renderer[C],
    error: ErrorShape,
    max_body_bytes: int,
    status_of: Callable[[int], int] = int,
) -> Response:
    """Answer one prediction request; every failure becomes ``error(exc)`` with its status
    (``status_of`` maps it where a protocol answers differently, e.g. MLflow's 400 for a 422)."""
    started = time.perf_counter()
    rid = request_id(request)
    plan: DeploymentPlan | None = None
    parsed: Parsed[C] | None = None
    answer: Answer | None = None
    try:
        plan = dispatcher.deployment(deployment)
        body = await read_body(request, max_body_bytes)
        try:
            candidate = parse(body, request, plan)
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            raise InvalidInput(f"cannot read the request: {exc}") from None
        if len(candidate.frame) == 0:  # OIP shape [0], an empty column list: nothing for a model
            raise InvalidInput("the request has no rows; send at least one")
        parsed = candidate
        answer = await dispatcher.predict_async(
            plan, parsed.frame, request_id=rid, headers=request.headers, started=started, variant=parsed.variant
        )
        content = dump_json(render(answer, parsed.context))
    except ModelyardError as exc:
        label = _label(plan)
        if parsed is None:
            dispatcher.fail(label, None, type(exc).__name__, started)
        _log_failure(dispatcher, plan, parsed, answer, rid, exc, started)
        dispatcher.metrics.requests.labels(label, NO_VARIANT, str(exc.http_status)).inc()
        return _error(error(exc), status_of(exc.http_status), rid)
    except ClientDisconnect as exc:
        # The caller hung up mid-body: nobody is waiting for an answer and nothing failed here,
        # so it is counted apart (nginx's 499), never as a server or model error.
        label = _label(plan)
        dispatcher.fail(label, None, CLIENT_CLOSED, started)
        _log_failure(dispatcher, plan, parsed, answer, rid, exc, started)
        dispatcher.metrics.requests.labels(label, NO_VARIANT, str(CLIENT_CLOSED_STATUS)).inc()
        return Response(status_code=CLIENT_CLOSED_STATUS, headers={REQUEST_ID_HEADER: rid})
    except Exception as exc:
        label = _label(plan)
        logger.exception("unexpected failure serving %s", label)
        dispatcher.fail(label, None, "internal", started)
        _log_failure(dispatcher, plan, parsed, answer, rid, exc, started)
        dispatcher.metrics.requests.labels(label, NO_VARIANT, "500").inc()
        return _error(error(ModelyardError("internal server error")), 500, rid)

    dispatcher.log(answer)  # before the response: once the caller has it, a log flush covers it

    async def report() -> None:
        dispatcher.after(answer)

    headers = {
        REQUEST_ID_HEADER: rid,
        VARIANT_HEADER: answer.variant.name,
        MODEL_VERSION_HEADER: answer.variant.model_version,
    }
    return Response(content, media_type="application/json", headers=headers, background=BackgroundTask(report))


def _log_failure(
    dispatcher: Dispatcher,
    plan: DeploymentPlan | None,
    parsed: Parsed[Any] | None,
    answer: Answer | None,
    rid: str,
    exc: Exception,
    started: float,
) -> None:
    """Log a failure the dispatcher has not logged: before the prediction, or while rendering it.

    A request for a deployment this server does not serve is not logged (there is no log to put
    it in); a failure inside the prediction was logged by the dispatcher with its variant.
    """
    if plan is None:
        return
    if parsed is None:
        dispatcher.log_failure(plan.name, rid, exc, started, variant=None, frame=None)
    elif answer is not None:
        dispatcher.log_failure(plan.name, rid, exc, started, variant=answer.variant, frame=answer.frame)


def _label(plan: DeploymentPlan | None) -> str:
    """The deployment label of a request: the name the plan knows, or ``-`` for a made-up one (the
    name in the URL is the caller's: labelling by it would let anyone add series)."""
    return plan.name if plan is not None else NO_VARIANT


def _error(body: dict[str, Any], status: int, rid: str) -> Response:
    return Response(
        dump_json(body), status_code=status, media_type="application/json", headers={REQUEST_ID_HEADER: rid}
    )


def predictions(value: Any) -> Any:
    """A prediction as JSON: arrays as lists, DataFrames as records."""
    if isinstance(value, pd.DataFrame):
        return value.to_dict(orient="records")
    tolist = getattr(value, "tolist", None)
    return tolist() if tolist is not None else value
