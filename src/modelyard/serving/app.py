"""The serving ASGI app: every protocol over one dispatcher, one plan holder and one metrics registry.

``create_app`` takes a ``PlanHolder`` (or a ``ServingPlan``, wrapped in a new holder) so whoever
owns the deployments can swap plans while the app runs (``app.state.holder.swap(new_plan)``). The
shadow runner's threads live as long as the app's lifespan.

Prediction handlers are ``async`` and call the model inline: for the small tabular models this
serves, a thread hop per request costs more than the predict itself. A model slow enough to stall
the event loop should be served with more workers (``run(..., workers=N)``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from modelyard.serving import worker_metrics
from modelyard.serving.dispatch import Dispatcher
from modelyard.serving.explainers import ExplainerCache
from modelyard.serving.http import DEFAULT_MAX_BODY_BYTES
from modelyard.serving.metrics import ServingMetrics
from modelyard.serving.plan import PlanHolder, ServingPlan
from modelyard.serving.protocols import explain, invocations, oip_v2, records
from modelyard.serving.requests_log import NullRequestLogger, RequestLogger
from modelyard.serving.shadow import ShadowRunner


def create_app(
    plan_holder: PlanHolder | ServingPlan,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    request_logger: RequestLogger | None = None,
    shadow_queue_size: int = 1_000,
    shadow_workers: int = 1,
    shadow_tolerance: float = 0.05,
) -> Starlette:
    """A Starlette app serving the plan in ``plan_holder``.

    ``max_body_bytes`` refuses larger bodies with 413; ``request_logger`` receives every served
    request after its response is sent (default: nothing kept). ``app.state`` exposes ``holder``,
    ``dispatcher``, ``metrics``, ``shadows`` and ``explainers`` for the code that runs the app.
    """
    holder = plan_holder if isinstance(plan_holder, PlanHolder) else PlanHolder(plan_holder)
    if max_body_bytes < 1:
        raise ValueError("max_body_bytes must be positive")
    metrics = ServingMetrics()
    shadows = ShadowRunner(metrics, maxsize=shadow_queue_size, workers=shadow_workers, tolerance=shadow_tolerance)
    dispatcher = Dispatcher(
        holder,
        metrics=metrics,
        shadows=shadows,
        request_logger=NullRequestLogger() if request_logger is None else request_logger,
    )

    explainers = ExplainerCache(holder)

    async def prometheus(request: Request) -> Response:
        body = metrics.render() if worker_metrics.directory() is None else worker_metrics.render()
        return Response(body, media_type=metrics.content_type)

    # No two routes share a path, so their order only decides how many patterns a request is
    # matched against: MLflow's /invocations, the busiest, comes first.
    routes: list[BaseRoute] = [
        *invocations.routes(dispatcher, max_body_bytes=max_body_bytes),
        *records.routes(dispatcher, max_body_bytes=max_body_bytes),
        *oip_v2.routes(dispatcher, max_body_bytes=max_body_bytes),
        *explain.routes(dispatcher, explainers, max_body_bytes=max_body_bytes),
        Route("/metrics", prometheus, methods=["GET"]),
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        shadows.start()
        try:
            yield
        finally:
            shadows.stop()

    handlers = {404: oip_v2.not_found, 405: oip_v2.not_found}
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers=handlers)
    app.state.holder = holder
    app.state.dispatcher = dispatcher
    app.state.metrics = metrics
    app.state.shadows = shadows
    app.state.explainers = explainers
    return app
