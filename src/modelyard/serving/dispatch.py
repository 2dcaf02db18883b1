"""The protocol-independent core of a prediction: route, predict, then report after the response.

Every protocol turns its body into a DataFrame (or ``rows.Rows``: an all-number body, handed to
``Predictor.predict_array`` without a frame) and awaits ``Dispatcher.predict_async``; the answer says
which variant answered and carries what the protocol renders. ``Dispatcher.log`` hands the
answer to the request hook just before the response goes out (an enqueue); ``Dispatcher.after``
is what runs once the response is on the wire: the shadow copy and the metrics. A failed request
goes to the request hook too (``log_failure``: status, error kind, the inputs when parsed).
Nothing here can fail or slow the caller: the shadow runner and the request logger only enqueue.
Recorded inputs carry the column labels pandas would build (``labels.as_built``, applied when a
listener reads ``ServedRequest.inputs``), not the hot path's.
Deployments with micro-batching check each request against the signature alone, then wait for
their batch's model call (``batching.py``). A deployment that declares features has each request
enriched from the feature store's online store first (``DeploymentPlan.enrich``).
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
from modelyard.serving.plan import DeploymentPlan, Enricher, PlanHolder, Variant
from modelyard.serving.requests_log import RequestLogger, ServedRequest, error_kind, error_status
from modelyard.serving.routing.sticky import random_bucket, sticky_bucket
from modelyard.serving.rows import Inputs, frame_of, predict
from modelyard.serving.shadow import ShadowRunner

logger = logging.getLogger(__name__)

_NO_INPUTS = pd.DataFrame()  # a request that failed before its body became a frame


@dataclass(frozen=True, kw_only=True)
class Answer:
    """A served prediction and everything ``after`` needs to report it."""

    request_id: str
    deployment: DeploymentPlan
    variant: Variant
    frame: Inputs
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

    def choose(self, deployment: DeploymentPlan, frame: Inputs, headers: Mapping[str, str]) -> Variant:
        """The serving variant for this request: by sticky key when there is one, else at random."""
        sticky = deployment.sticky
        key: str | None = None
        if sticky is not None:
            if sticky.source == "header":
                key = headers.get(sticky.name)
            elif sticky.name in frame_of(frame).columns and len(frame):
                value = frame_of(frame)[sticky.name].iloc[0]
                key = None if pd.isna(value) else str(value)
        bucket = random_bucket() if key is None else sticky_bucket(key, salt=deployment.name)
        return deployment.route(bucket)

    async def predict_async(
        self,
        deployment: DeploymentPlan,
        frame: Inputs,
        *,
        request_id: str,
        headers: Mapping[str, str],
        started: float,
        variant: Variant | None = None,
    ) -> Answer:
        """Predict with the chosen (or given) variant; signature problems become 422.

        When the deployment batches, the request is checked against the signature before it joins
        a batch, so a bad one gets its 422 alone; a failed batch call fails each of its requests as
        an unbatched call would.
        """
        batching = deployment.batching
        if batching is None:
            self.batchers.sync()
        chosen = variant or self.choose(deployment, frame, headers)
        model_frame = _without_key(frame, deployment, chosen)
        with self._refusals(deployment, chosen, started, request_id, model_frame):
            if deployment.enrich is not None:
                model_frame = _enriched(deployment.enrich, frame_of(model_frame), chosen)
            if batching is None:
                prediction = predict(chosen.predictor, model_frame)
            else:
                signature = chosen.predictor.signature
                whole = frame_of(model_frame)
                conformed = whole if signature is None else enforce_signature(whole, signature)
                prediction = await self.batchers.batcher(deployment, chosen).submit(conformed)
        return _answer(request_id, deployment, chosen, model_frame, prediction, started)

    @contextmanager
    def _refusals(
        self, deployment: DeploymentPlan, variant: Variant, started: float, request_id: str, frame: Inputs
    ) -> Iterator[None]:
        """Signature problems become 422; the model's own errors are counted and passed on.

        Either way the failure goes to the request log with the variant and the inputs it had; an
        unexpected exception is logged here too (the protocol's handler counts it as ``internal``).
        """
        try:
            yield
        except InvalidInput as exc:
            self.fail(deployment.name, variant.name, "invalid_input", started)
            rejected = InputRejected(exc.message, **exc.details)
            self.log_failure(deployment.name, request_id, rejected, started, variant=variant, frame=frame)
            raise rejected from None
        except ModelyardError as exc:
            self.fail(deployment.name, variant.name, type(exc).__name__, started)
            self.log_failure(deployment.name, request_id, exc, started, variant=variant, frame=frame)
            raise
        except Exception as exc:
            self.log_failure(deployment.name, request_id, exc, started, variant=variant, frame=frame)
            raise

    def fail(self, deployment: str, variant: str | None, kind: str, started: float) -> None:
        """Count a refused or failed request (status is recorded by the caller's error path)."""
        self.metrics.errors.labels(deployment, variant or NO_VARIANT, kind).inc()
        self.metrics.latency.labels(deployment, variant or NO_VARIANT).observe(time.perf_counter() - started)

    def log(self, answer: Answer) -> None:
        """Hand an answered request to the request log; called just before the response is sent.

        Only an enqueue (the logger must not block), so a caller that has its answer knows the
        record is queued: ``ParquetRequestLogger.flush`` then covers it. Never raises.
        """
        variant = answer.variant
        self._record(
            ServedRequest(
                request_id=answer.request_id,
                time_ms=self._clock.now_ms(),
                deployment=answer.deployment.name,
                variant=variant.name,
                model_version=variant.model_version,
                inputs=answer.frame,
                prediction=answer.prediction,
                latency_ms=answer.latency_ms,
            )
        )

    def log_failure(
        self,
        deployment: str,
        request_id: str,
        exc: BaseException,
        started: float,
        *,
        variant: Variant | None = None,
        frame: Inputs | None = None,
    ) -> None:
        """Hand a failed request to the request log: its status, error kind and whatever was known.

        ``variant`` and ``frame`` are ``None`` when the request failed before routing or parsing.
        Never raises.
        """
        self._record(
            ServedRequest(
                request_id=request_id,
                time_ms=self._clock.now_ms(),
                deployment=deployment,
                variant=variant.name if variant is not None else "",
                model_version=variant.model_version if variant is not None else "",
                inputs=frame if frame is not None else _NO_INPUTS,
                prediction=None,
                latency_ms=(time.perf_counter() - started) * 1000.0,
                status=error_status(exc),
                error=error_kind(exc),
            )
        )

    def _record(self, served: ServedRequest) -> None:
        try:
            if not self.request_logger.record(served):
                self.metrics.request_log_dropped.inc()
        except Exception:  # the request must not fail because its record could not be kept
            logger.exception("recording a request in the request log failed")

    def after(self, answer: Answer) -> None:
        """Report a served request once it is on the wire: metrics, shadow copy. Never raises."""
        deployment = answer.deployment
        variant = answer.variant
        try:
            requests, latency = self.metrics.served(deployment.name, variant.name)
            requests.inc()
            latency.observe(answer.finished - answer.started)
            shadows = deployment.shadows
            if shadows:
                self.shadows.submit(
                    request_id=answer.request_id,
                    deployment=deployment.name,
                    shadows=shadows,
                    frame=answer.frame,
                    primary=answer.prediction,
                )
        except Exception:  # the caller already has its answer; a reporting bug must not surface
            logger.exception("reporting a served request failed")


def _answer(
    request_id: str,
    deployment: DeploymentPlan,
    variant: Variant,
    frame: Inputs,
    prediction: Any,
    started: float,
) -> Answer:
    """The answer of a prediction that just finished (its latency ends now)."""
    return Answer(
        request_id=request_id,
        deployment=deployment,
        variant=variant,
        frame=frame,
        prediction=prediction,
        started=started,
        finished=time.perf_counter(),
    )


def _enriched(enrich: Enricher, frame: pd.DataFrame, variant: Variant) -> pd.DataFrame:
    """The request with its features; entity keys stay only when the model takes them."""
    enriched = enrich(frame)
    signature = variant.predictor.signature
    drop = [k for k in enrich.keys if k in enriched.columns and (signature is None or k not in signature.input_names)]
    return enriched.drop(columns=drop) if drop else enriched


def _without_key(frame: Inputs, deployment: DeploymentPlan, variant: Variant) -> Inputs:
    """Drop the sticky field when the model does not take it (it is routing data, not a feature)."""
    sticky = deployment.sticky
    if sticky is None or sticky.source != "field" or sticky.name not in frame_of(frame).columns:
        return frame
    signature = variant.predictor.signature
    if signature is not None and sticky.name in signature.input_names:
        return frame
    return frame_of(frame).drop(columns=[sticky.name])
