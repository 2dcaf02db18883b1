"""Serving deployments from the store: plans built from stored deployments, kept current while serving.

This joins two contexts (the deployments in ``serving`` and the models the registry loads), so it
lives in the SDK layer:

- ``PlanBuilder`` turns stored ``Deployment`` records into the runtime's ``ServingPlan``, loading
  each pinned version once with the registry's ``ModelResolver`` (a pinned version never changes,
  so loaded predictors are reused across reloads and dropped once no deployment uses them);
- ``PlanReloader`` polls the deployments' revisions (one small read) every ``interval_s`` and, on a
  change, builds the new plan (loading any new model first) and swaps it into the ``PlanHolder``;
  requests in flight finish on the plan they started with, so no request fails for a reload. A
  failed reload (store down, model unloadable) keeps the plan in force and is retried next tick;
- ``build_app`` wires both plus the ``CanaryWatcher`` into the runtime's app; they start and stop
  with the app's lifespan, so with ``--workers N`` each forked worker runs its own. A promotion the
  watcher decides moves ``@champion`` along (``sdk.champion``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from starlette.applications import Starlette

from modelyard.domain.serving import Deployment, FeatureLookup
from modelyard.errors import InvalidInput, ModelyardError
from modelyard.features import OnlineEnricher
from modelyard.models import Predictor
from modelyard.sdk.backends.local import LocalBackend
from modelyard.sdk.champion import follow_promotion
from modelyard.sdk.features import open_feature_store
from modelyard.serving import DeploymentPlan, Mode, PlanHolder, ServingPlan, Variant, create_app
from modelyard.serving import run as run_server
from modelyard.serving.deployments import DeploymentService
from modelyard.serving.inference_log import ParquetRequestLogger
from modelyard.serving.pinned import pin_variant
from modelyard.serving.plan import Enricher
from modelyard.serving.requests_log import RequestLogger, ServedRequest
from modelyard.serving.ticker import Ticker
from modelyard.serving.watcher import CanaryWatcher

logger = logging.getLogger(__name__)


class PlanBuilder:
    """Builds serving plans from deployments, loading each pinned model version at most once."""

    def __init__(
        self,
        load: Callable[[str], Predictor],
        *,
        variant: str | None = None,
        enricher: Callable[[FeatureLookup], Enricher] | None = None,
    ) -> None:
        self._load = load
        self._variant = variant  # serve only this variant of each deployment (``pin_variant``)
        self._enricher = enricher  # the feature store lookup of deployments that declare features
        self._loaded: dict[str, Predictor] = {}
        self._lock = threading.Lock()

    def build(self, deployments: Sequence[Deployment]) -> ServingPlan:
        """The plan for ``deployments``; every model is loaded before this returns.

        A deployment whose model cannot be loaded (its files are gone or damaged, its library is
        missing) does not take the others down: it is left out of the plan and reported as not
        ready (503 naming why) until a later build loads it.
        """
        if self._variant is not None:
            deployments = [pin_variant(d, self._variant) for d in deployments]
        with self._lock:
            wanted = {v.uri for d in deployments for v in d.variants}
            failed: dict[str, str] = {}
            for uri in sorted(wanted - set(self._loaded)):
                try:
                    self._loaded[uri] = self._load(uri)
                except ModelyardError as exc:
                    failed[uri] = f"{uri} cannot be loaded: {exc.message}"
                    logger.warning("%s", failed[uri])
            unavailable = {
                d.name: "; ".join(failed[v.uri] for v in d.variants if v.uri in failed)
                for d in deployments
                if any(v.uri in failed for v in d.variants)
            }
            plan = ServingPlan(
                [self._deployment(d) for d in deployments if d.name not in unavailable], unavailable=unavailable
            )
            for uri in set(self._loaded) - wanted:
                del self._loaded[uri]
            return plan

    def _deployment(self, deployment: Deployment) -> DeploymentPlan:
        return DeploymentPlan(
            name=deployment.name,
            variants=tuple(
                Variant(
                    name=v.name,
                    model_version=v.model_version,
                    predictor=self._loaded[v.uri],
                    mode=Mode(v.mode.value),
                    weight=v.weight,
                    sample=v.sample,
                )
                for v in deployment.variants
            ),
            sticky=deployment.sticky,
            batching=deployment.batching,
            enrich=self._enrich(deployment),
            explain_sample=deployment.explain_sample,
        )

    def _enrich(self, deployment: Deployment) -> Enricher | None:
        if deployment.features is None:
            return None
        if self._enricher is None:
            raise InvalidInput(f"deployment {deployment.name!r} declares features, but no feature store is set up")
        return self._enricher(deployment.features)


class PlanReloader:
    """Keeps ``holder`` on the stored state of the deployments ``names`` (all when ``None``)."""

    def __init__(
        self,
        service: DeploymentService,
        holder: PlanHolder,
        builder: PlanBuilder,
        *,
        names: Sequence[str] | None = None,
        interval_s: float = 1.0,
        revisions: dict[str, int] | None = None,
    ) -> None:
        self._service = service
        self._holder = holder
        self._builder = builder
        self._names = None if names is None else list(names)
        self._seen = revisions
        self._ticker = Ticker(lambda: self.check(), interval_s=interval_s, name="modelyard-plan-reloader")
        self.reloads = 0

    def check(self) -> bool:
        """Reload if the stored revisions moved; ``True`` when a new plan was swapped in."""
        if self._service.revisions(self._names) == self._seen:
            return False
        deployments = self._service.list(None) if self._names is None else self._existing(self._names)
        plan = self._builder.build(deployments)
        self._holder.swap(plan)
        self._seen = {d.name: d.revision for d in deployments}
        self.reloads += 1
        logger.info("serving plan reloaded: %s", self._seen)
        return True

    def _existing(self, names: Sequence[str]) -> list[Deployment]:
        present = self._service.revisions(names)
        return self._service.list(sorted(present)) if present else []

    def start(self) -> None:
        self._ticker.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._ticker.stop(timeout)


@dataclass(frozen=True)
class DeploymentServer:
    """The app and the moving parts behind it (exposed for tests and the CLI)."""

    app: Starlette
    holder: PlanHolder
    reloader: PlanReloader
    watcher: CanaryWatcher
    inference_log: ParquetRequestLogger | None = None


def build_app(
    backend: LocalBackend,
    names: Sequence[str] | None = None,
    *,
    reload_interval_s: float = 1.0,
    watch_interval_s: float = 1.0,
    request_logger: RequestLogger | None = None,
    variant: str | None = None,
) -> DeploymentServer:
    """An app serving the stored deployments ``names`` (all of them when empty or ``None``).

    Named deployments must exist now (``NotFound`` otherwise); models are loaded before this
    returns. A deployment whose model cannot be loaded answers 503 "not ready" naming why, while
    the others serve. Without a
    ``request_logger``, served requests go to the inference log when the settings' sample rate
    is above 0; its writer starts with the app and writes everything queued at shutdown.
    """
    wanted = list(names) if names else None
    service = backend.deployments
    deployments = service.list(wanted)
    builder = PlanBuilder(
        backend.model_resolver.load,
        variant=variant,
        enricher=lambda lookup: OnlineEnricher(open_feature_store(backend), lookup),
    )
    holder = PlanHolder(builder.build(deployments))
    reloader = PlanReloader(
        service,
        holder,
        builder,
        names=wanted,
        interval_s=reload_interval_s,
        revisions={d.name: d.revision for d in deployments},
    )
    inference_log: ParquetRequestLogger | None = None
    if request_logger is None and backend.settings.inference_log_sample > 0:
        inference_log = ParquetRequestLogger(
            backend.db,
            backend.artifact_store,
            sample=backend.settings.inference_log_sample,
            flush_interval_s=backend.settings.inference_log_flush_interval_s,
            holder=holder,
        )
        request_logger = inference_log
    watcher_box: list[CanaryWatcher] = []

    def hook() -> RequestLogger:
        return watcher_box[0]

    app = create_app(holder, request_logger=_Forward(hook))
    if inference_log is not None:  # attributions of sampled requests, with the explain endpoint's explainers
        dropped = app.state.metrics.explain_log_dropped
        inference_log.log_attributions(app.state.explainers, on_dropped=lambda name, n: dropped.labels(name).inc(n))
    watcher = CanaryWatcher(
        service,
        holder,
        app.state.metrics,
        names=wanted,
        interval_s=watch_interval_s,
        downstream=request_logger,
        on_promote=lambda promoted: follow_promotion(backend.aliases, promoted),
    )
    watcher_box.append(watcher)
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: Starlette) -> AsyncIterator[None]:
        async with inner(application):
            if inference_log is not None:
                inference_log.start()
            reloader.start()
            watcher.start()
            try:
                yield
            finally:
                watcher.stop()
                reloader.stop()
                if inference_log is not None:
                    inference_log.close()

    app.router.lifespan_context = lifespan
    return DeploymentServer(app=app, holder=holder, reloader=reloader, watcher=watcher, inference_log=inference_log)


def serve(
    backend: LocalBackend,
    names: Sequence[str] | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    workers: int = 1,
    log_level: str = "warning",
    variant: str | None = None,
) -> None:
    """Serve stored deployments until interrupted, following their changes without a restart.

    ``variant`` gives that variant all of this server's traffic (``serving.pinned``), for
    platforms that split traffic between servers themselves, such as KServe.
    """
    server = build_app(backend, names, variant=variant)
    run_server(server.holder, host, port, workers, log_level=log_level, app=server.app)


class _Forward:
    """A request logger that hands each record to the one ``target()`` returns (made after the app)."""

    def __init__(self, target: Callable[[], RequestLogger]) -> None:
        self._target = target

    def record(self, served: ServedRequest) -> bool:
        return self._target().record(served)
