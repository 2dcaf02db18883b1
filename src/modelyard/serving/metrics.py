"""Prometheus metrics of one server: requests, errors and latency per deployment and variant.

Each app gets its own ``CollectorRegistry`` so that two apps in one process (tests, benchmarks, a
blue/green swap) never share or double-register series. Labels are deployment and variant names,
both bounded by the plan; a request refused before a variant was chosen is labelled ``-``.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

NO_VARIANT = "-"
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ServingMetrics:
    """The server's series; ``render`` gives the Prometheus text exposition."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "modelyard_requests", "Prediction requests answered", ["deployment", "variant", "status"], registry=r
        )
        self.errors = Counter(
            "modelyard_request_errors", "Prediction requests that failed", ["deployment", "variant", "kind"], registry=r
        )
        self.latency = Histogram(
            "modelyard_request_latency_seconds",
            "Time from request start to response body ready",
            ["deployment", "variant"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.shadow_requests = Counter(
            "modelyard_shadow_requests", "Shadow predictions completed", ["deployment", "variant"], registry=r
        )
        self.shadow_errors = Counter(
            "modelyard_shadow_errors", "Shadow predictions that raised", ["deployment", "variant"], registry=r
        )
        self.shadow_dropped = Counter(
            "modelyard_shadow_dropped", "Shadow copies dropped because the queue was full", ["deployment"], registry=r
        )
        self.shadow_rows = Counter(
            "modelyard_shadow_rows", "Rows compared between primary and shadow", ["deployment", "variant"], registry=r
        )
        self.shadow_disagreements = Counter(
            "modelyard_shadow_disagreements",
            "Compared rows where the shadow disagreed (label mismatch, or relative error over tolerance)",
            ["deployment", "variant"],
            registry=r,
        )
        self.request_log_dropped = Counter(
            "modelyard_request_log_dropped", "Served-request records the request logger refused", registry=r
        )
        self.explain_log_dropped = Counter(
            "modelyard_explain_log_dropped",
            "Sampled requests logged without attributions because the inference log writer was behind",
            ["deployment"],
            registry=r,
        )
        self._served: dict[tuple[str, str], tuple[Any, Any]] = {}

    def served(self, deployment: str, variant: str) -> tuple[Any, Any]:
        """The ``requests`` (status 200) and ``latency`` series of one variant, looked up once.

        ``labels()`` validates and joins its labels under a lock on every call; an answered request
        needs the same two series as the one before, so they are kept here (the plan bounds the
        keys, as it bounds the series).
        """
        key = (deployment, variant)
        children = self._served.get(key)
        if children is None:
            children = (self.requests.labels(deployment, variant, "200"), self.latency.labels(deployment, variant))
            self._served[key] = children
        return children

    def render(self) -> bytes:
        return generate_latest(self.registry)
