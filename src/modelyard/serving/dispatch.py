"""The protocol-independent core of a prediction: route, predict, then report after the response.

Every protocol turns its body into a DataFrame and calls ``Dispatcher.predict``; the answer says
which variant answered and carries what the protocol renders. ``Dispatcher.after`` is what runs
once the response is on the wire: the shadow copy, the request hook and the metrics. Nothing in
``after`` can fail or slow the caller: the shadow runner and the request logger only enqueue.
``predict_async`` is what the protocols await: deployments with micro-batching check each
request against the signature alone, then wait for their batch's model call (``batching.py``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pandas as pd

from modelyard.clock import SYSTEM_CLOCK, Clock
from modelyard.errors import InvalidInput, ModelyardError
from modelyard.models.signature import enforce_signature
from modelyard.serving.batching import BatcherPool
from modelyard.serving.http import InputRejected
from modelyard.serving.metrics import NO_VARIANT, ServingMetrics
from modelyard.serving.plan import DeploymentPlan, PlanHolder, Variant
from modelyard.serving.requests_log import RequestLogger, ServedRequest
from modelyard.serving.routing.sticky import random_bucket, sticky_bucket
from modelyard.serving.shadow import ShadowRunner

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class Answer:
    """A served prediction and everything ``after`` needs to report it."""

    request_id: str
    deployment: DeploymentPlan
    variant: Variant
    frame: pd.DataFrame
    prediction: Any
    started: float
    finished: float

    @property
    def latency_ms(self) -> float:
        return (self.finished - self.started) * 1000.0


class Dispatcher:
    """Routes requests over the plan in force and reports what was served."""

    def __init__(
        self,
        holder: PlanHolder,
        *,
        metrics: ServingMetrics,
        shadows: ShadowRunner,
        request_logger: RequestLogger,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.holder = holder
        self.metrics = metrics
        self.shadows = shadows
        self.request_logger = request_logger
        self._clock = clock
        self.batchers = BatcherPool(holder)

    def deployment(self, name: str) -> DeploymentPlan:
        """The deployment ``name`` in the plan in force (``NotFound`` otherwise)."""
        return self.holder.current.get(name)

    def choose(self, deployment: DeploymentPlan, frame: pd.DataFrame, headers: Mapping[str, str]) -> Variant:
        """The serving variant for this request: by sticky key when there is one, else at random."""
        sticky = deployment.sticky
        key: str | None = None
        if sticky is not None:
            if sticky.source == "header":
                key = headers.get(sticky.name)
            elif sticky.name in frame.columns and len(frame):
                value = frame[sticky.name].iloc[0]
                key = None if pd.isna(value) else str(value)
        bucket = random_bucket() if key is None else sticky_bucket(key, salt=deployment.name)
        return deployment.route(bucket)

    def predict(
        self,
        deployment: DeploymentPlan,
        frame: pd.DataFrame,
        *,
        request_id: str,
        headers: Mapping[str, str],
        started: float,
        variant: Variant | None = None,
    ) -> Answer:
        """Predict with the chosen (or given) variant; signature problems become 422."""
        chosen = variant or self.choose(deployment, frame, headers)
        model_frame = _without_key(frame, deployment, chosen)
        with self._refusals(deployment, chosen, started):
            prediction = chosen.predictor.predict(model_frame)
        return Answer(
            request_id=request_id,
            deployment=deployment,
            variant=chosen,
            frame=model_frame,
            prediction=prediction,
            started=started,
            finished=time.perf_counter(),
        )

    async def predict_async(
        self,
        deployment: DeploymentPlan,
        frame: pd.DataFrame,
        *,
        request_id: str,
        headers: Mapping[str, str],
        started: float,
        variant: Variant | None = None,
    ) -> Answer:
        """``predict``, through the variant's batcher when the deployment batches.

        The request is checked against the signature before it joins a batch, so a bad one gets
        its 422 alone; a failed batch call fails each of its requests as ``predict`` would.
        """
        if deployment.batching is None:
            self.batchers.sync()
            return self.predict(
                deployment, frame, request_id=request_id, headers=headers, started=started, variant=variant
            )
        chosen = variant or self.choose(deployment, frame, headers)
        model_frame = _without_key(frame, deployment, chosen)
        with self._refusals(deployment, chosen, started):
            signature = chosen.predictor.signature
            conformed = model_frame if signature is None else enforce_signature(model_frame, signature)
            prediction = await self.batchers.batcher(deployment, chosen).submit(conformed)
        return Answer(
            request_id=request_id,
            deployment=deployment,
            variant=chosen,
            frame=model_frame,
            prediction=prediction,
            started=started,
            finished=time.perf_counter(),
        )

    @contextmanager
    def _refusals(self, deployment: DeploymentPlan, variant: Variant, started: float) -> Iterator[None]:
        """Signature problems become 422; the model's own errors are counted and passed on."""
        try:
            yield
        except InvalidInput as exc:
            self.fail(deployment.name, variant.name, "invalid_input", started)
            raise InputRejected(exc.message, **exc.details) from None
        except ModelyardError as exc:
            self.fail(deployment.name, variant.name, type(exc).__name__, started)
            raise

    def fail(self, deployment: str, variant: str | None, kind: str, started: float) -> None:
        """Count a refused or failed request (status is recorded by the caller's error path)."""
        self.metrics.errors.labels(deployment, variant or NO_VARIANT, kind).inc()
        self.metrics.latency.labels(deployment, variant or NO_VARIANT).observe(time.perf_counter() - started)

    def after(self, answer: Answer) -> None:
        """Report a served request: metrics, shadow copy, request hook. Never raises."""
        deployment = answer.deployment
        variant = answer.variant
        try:
            self.metrics.requests.labels(deployment.name, variant.name, "200").inc()
            self.metrics.latency.labels(deployment.name, variant.name).observe(answer.finished - answer.started)
            shadows = deployment.shadows
            if shadows:
                self.shadows.submit(
                    request_id=answer.request_id,
                    deployment=deployment.name,
                    shadows=shadows,
                    frame=answer.frame,
                    primary=answer.prediction,
                )
            served = ServedRequest(
                request_id=answer.request_id,
                time_ms=self._clock.now_ms(),
                deployment=deployment.name,
                variant=variant.name,
                model_version=variant.model_version,
                inputs=answer.frame,
                prediction=answer.prediction,
                latency_ms=answer.latency_ms,
            )
            if not self.request_logger.record(served):
                self.metrics.request_log_dropped.inc()
        except Exception:  # the caller already has its answer; a reporting bug must not surface
            logger.exception("reporting a served request failed")


def _without_key(frame: pd.DataFrame, deployment: DeploymentPlan, variant: Variant) -> pd.DataFrame:
    """Drop the sticky field when the model does not take it (it is routing data, not a feature)."""
    sticky = deployment.sticky
    if sticky is None or sticky.source != "field" or sticky.name not in frame.columns:
        return frame
    signature = variant.predictor.signature
    if signature is not None and sticky.name in signature.input_names:
        return frame
    return frame.drop(columns=[sticky.name])
