"""The canary watcher: measures each canary of a running server against its SLO and acts on the verdict.

It is the server's request hook (``RequestLogger``): ``record`` keeps what canaries answered in a
bounded deque and passes every record on to the next logger; it never blocks. A background thread,
every ``interval_s``:

1. reads the deployments' revisions from the store and, when they changed, the deployments;
2. opens a window for each canary (deployment, variant, pinned version) of a deployment with an
   SLO, the first time it sees it, remembering the error counters at that moment;
3. folds the new canary answers in: latency, and the primary's answer to the same input computed
   here, off the response path, to measure disagreement (``shadow.compare``'s rules);
4. builds ``CanaryFigures`` (errors are the runtime's ``modelyard_request_errors`` since the window
   opened, excluding callers' invalid input), asks ``slo.evaluate`` and, on ``rollback`` or
   ``promote``, calls the deployments service with the revision it judged (``expected_revision``),
   recording the SLO, the figures and the reasons in the event. A ``Conflict`` means someone (a
   person, another worker) changed the deployment first: the verdict is dropped. After a promotion,
   ``on_promote`` gets the promoted deployment (the SDK moves ``@champion`` with it).
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from modelyard.domain.serving import Deployment, EventDetails
from modelyard.errors import Conflict, ModelyardError, NotFound
from modelyard.serving.deployments import DeploymentService
from modelyard.serving.metrics import ServingMetrics
from modelyard.serving.plan import Mode, PlanHolder
from modelyard.serving.requests_log import NullRequestLogger, RequestLogger, ServedRequest
from modelyard.serving.shadow import compare
from modelyard.serving.slo import Action, CanaryFigures, Verdict, evaluate, p95
from modelyard.serving.ticker import Ticker

logger = logging.getLogger(__name__)

_Key = tuple[str, str, str]  # deployment, variant, model version


@dataclass(kw_only=True)
class _Window:
    opened: float
    errors_at_open: float
    served: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    compared_rows: int = 0
    disagreements: int = 0


class CanaryWatcher:
    """Judges canaries of the deployments in ``names`` (all when ``None``) on this server."""

    def __init__(
        self,
        service: DeploymentService,
        holder: PlanHolder,
        metrics: ServingMetrics,
        *,
        names: Sequence[str] | None = None,
        interval_s: float = 1.0,
        downstream: RequestLogger | None = None,
        max_pending: int = 10_000,
        tolerance: float = 0.05,
        monotonic: Callable[[], float] = time.monotonic,
        on_promote: Callable[[Deployment], object] | None = None,
    ) -> None:
        self._service = service
        self._holder = holder
        self._metrics = metrics
        self._names = None if names is None else list(names)
        self._downstream = downstream or NullRequestLogger()
        self._pending: collections.deque[ServedRequest] = collections.deque(maxlen=max_pending)
        self._tolerance = tolerance
        self._monotonic = monotonic
        self._on_promote = on_promote
        self._deployments: dict[str, Deployment] = {}
        self._revisions: dict[str, int] | None = None
        self._windows: dict[_Key, _Window] = {}
        self._ticker = Ticker(lambda: self.tick(), interval_s=interval_s, name="modelyard-canary-watcher")
        self.verdicts: collections.deque[tuple[str, str, Verdict, CanaryFigures]] = collections.deque(maxlen=100)

    # -- the request hook ---------------------------------------------------------------------------

    def record(self, served: ServedRequest) -> bool:
        """Keep a canary's answer for the next evaluation; pass everything on. Never blocks."""
        deployment = self._holder.current.deployments.get(served.deployment)
        if deployment is not None and not served.failed:  # failures are counted from the error metric
            variant = next((v for v in deployment.variants if v.name == served.variant), None)
            if variant is not None and variant.mode is Mode.CANARY:
                self._pending.append(served)  # a full deque forgets its oldest: figures, never requests
        return self._downstream.record(served)

    # -- the thread -------------------------------------------------------------------------------

    def start(self) -> None:
        self._ticker.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._ticker.stop(timeout)

    def tick(self) -> list[tuple[str, str, Verdict]]:
        """One evaluation round; returns the decisions acted on (deployment, variant, verdict)."""
        self._refresh()
        self._fold(self._drain())
        acted: list[tuple[str, str, Verdict]] = []
        for key in list(self._windows):
            name, variant, _ = key
            deployment = self._deployments.get(name)
            if deployment is None or deployment.slo is None:
                continue
            figures = self.figures(key)
            verdict = evaluate(deployment.slo, figures)
            if verdict.action is Action.WAIT:
                continue
            self.verdicts.append((name, variant, verdict, figures))
            if self._act(deployment, variant, verdict, figures):
                acted.append((name, variant, verdict))
        return acted

    def figures(self, key: _Key) -> CanaryFigures:
        window = self._windows[key]
        errors = int(self._errors(key[0], key[1]) - window.errors_at_open)
        compared = window.compared_rows
        return CanaryFigures(
            requests=window.served + errors,
            errors=errors,
            p95_ms=p95(window.latencies_ms),
            disagreement_rate=None if compared == 0 else window.disagreements / compared,
            compared_rows=compared,
            elapsed_s=self._monotonic() - window.opened,
        )

    def _refresh(self) -> None:
        revisions = self._service.revisions(self._names)
        if revisions != self._revisions:
            found = self._service.list(sorted(revisions)) if revisions else []
            self._deployments = {d.name: d for d in found}
            self._revisions = {d.name: d.revision for d in found}
        live: set[_Key] = set()
        for deployment in self._deployments.values():
            if deployment.slo is None:
                continue
            for canary in deployment.canaries:
                key = (deployment.name, canary.name, canary.model_version)
                live.add(key)
                if key not in self._windows:
                    self._windows[key] = _Window(
                        opened=self._monotonic(), errors_at_open=self._errors(deployment.name, canary.name)
                    )
        for key in set(self._windows) - live:
            del self._windows[key]

    def _drain(self) -> list[ServedRequest]:
        drained: list[ServedRequest] = []
        while self._pending:
            drained.append(self._pending.popleft())
        return drained

    def _fold(self, served: list[ServedRequest]) -> None:
        plan = self._holder.current
        for record in served:
            window = self._windows.get((record.deployment, record.variant, record.model_version))
            if window is None:
                continue
            window.served += 1
            window.latencies_ms.append(record.latency_ms)
            deployment = plan.deployments.get(record.deployment)
            if deployment is None:
                continue
            primary = deployment.default
            try:
                expected = primary.predictor.predict(record.inputs)
            except ModelyardError:
                continue  # the primary failing is not the canary's disagreement
            rows, disagreements, _ = compare(expected, record.prediction, tolerance=self._tolerance)
            window.compared_rows += rows
            window.disagreements += disagreements

    def _errors(self, deployment: str, variant: str) -> float:
        total = 0.0
        for family in self._metrics.errors.collect():
            for sample in family.samples:
                labels = sample.labels
                if (
                    sample.name.endswith("_total")
                    and labels.get("deployment") == deployment
                    and labels.get("variant") == variant
                    and labels.get("kind") not in ("invalid_input", "client_closed")
                ):
                    total += sample.value
        return total

    def _act(self, deployment: Deployment, variant: str, verdict: Verdict, figures: CanaryFigures) -> bool:
        assert deployment.slo is not None
        details = EventDetails(
            decided_by="slo-watcher",
            variant=variant,
            model_version=next((v.model_version for v in deployment.canaries if v.name == variant), None),
            slo=deployment.slo.to_dict(),
            figures=figures.to_dict(),
            action=verdict.action.value,
            reasons=verdict.reasons,
        )
        try:
            if verdict.action is Action.ROLLBACK:
                self._service.rollback(
                    deployment.name, expected_revision=deployment.revision, details=details, automatic=True
                )
            else:
                promoted = self._service.promote(
                    deployment.name, variant, expected_revision=deployment.revision, details=details, automatic=True
                )
                if self._on_promote is not None:
                    try:
                        self._on_promote(promoted)
                    except ModelyardError as exc:  # the promotion stands; what follows it is reported
                        logger.warning("after promoting %s: %s", deployment.name, exc)
        except (Conflict, NotFound):
            logger.info("deployment %s changed before the watcher acted; verdict dropped", deployment.name)
            return False
        reasons = "; ".join(verdict.reasons)
        logger.warning("canary %s/%s: %s (%s)", deployment.name, variant, verdict.action.value, reasons)
        self._revisions = None  # re-read the deployment next tick
        return True
