"""``my.deployments``: deploy registered model versions, shift traffic, promote, roll back, serve.

    import modelyard as my
    from modelyard.sdk.deployments import VariantMode, VariantSpec   # also my.deployments.VariantSpec

    my.deployments.deploy("churn-api", "models:/churn@champion")
    my.deployments.deploy("churn-api", [VariantSpec(uri="models:/churn@champion"),
                                        VariantSpec(uri="models:/churn/4", mode=VariantMode.CANARY, weight=10)])
    my.deployments.set_traffic("churn-api", {"canary": 25})
    deployment, champion = my.deployments.promote("churn-api")     # @champion follows the new primary
    my.deployments.set_explain_sample("churn-api", 0.05)           # log attributions of 5 % of requests
    my.deployments.history("churn-api")                            # who changed what, when, and why
    with my.deployments.serve(["churn-api"]) as url: ...           # a server in a thread, for notebooks

Every call goes to the store the fluent API uses (``my.configure``), with its user as the actor;
the rules (pinned versions, weights, SLOs, permissions) are the serving service's.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from modelyard.domain.serving import (
    BatchingSpec,
    CanarySLO,
    Deployment,
    DeploymentEvent,
    EventDetails,
    StickySpec,
    VariantMode,
    VariantSpec,
)
from modelyard.sdk import champion
from modelyard.sdk.champion import ChampionMove
from modelyard.sdk.fluent import client
from modelyard.sdk.serving import build_app
from modelyard.serving import start_in_thread

__all__ = [
    "BatchingSpec",
    "CanarySLO",
    "ChampionMove",
    "Deployment",
    "DeploymentEvent",
    "EventDetails",
    "StickySpec",
    "VariantMode",
    "VariantSpec",
    "deploy",
    "get",
    "history",
    "list",
    "promote",
    "rollback",
    "serve",
    "set_explain_sample",
    "set_traffic",
    "undeploy",
]


def deploy(
    name: str,
    variants: str | Sequence[VariantSpec],
    *,
    sticky: StickySpec | None = None,
    slo: CanarySLO | None = None,
    batching: BatchingSpec | None = None,
    explain_sample: float | None = None,
    details: EventDetails | None = None,
) -> Deployment:
    """Create or replace deployment ``name``: one model URI (the primary) or a list of variants.

    ``batching`` and ``explain_sample`` left ``None`` keep the deployment's current settings."""
    specs = [VariantSpec(uri=variants)] if isinstance(variants, str) else builtins.list(variants)
    return client().backend.deployments.deploy(
        name, specs, sticky=sticky, slo=slo, batching=batching, explain_sample=explain_sample, details=details
    )


def get(name: str) -> Deployment:
    return client().backend.deployments.get(name)


def list(names: Sequence[str] | None = None) -> builtins.list[Deployment]:
    return client().backend.deployments.list(names)


def set_traffic(name: str, weights: Mapping[str, float]) -> Deployment:
    """Set the weights (in %) of ``name``'s canaries or A/B variants, by variant name."""
    return client().backend.deployments.set_traffic(name, dict(weights))


def set_explain_sample(name: str, rate: float) -> Deployment:
    """Log SHAP attributions of a ``rate`` share (0-1) of ``name``'s answered requests; 0 stops.

    Servers compute them off the response path and write them to the inference log as columns
    ``attribution.<feature>`` and ``attribution_base`` (``serving.attribution_log``)."""
    return client().backend.deployments.set_explain_sample(name, rate)


def promote(name: str, variant: str | None = None) -> tuple[Deployment, ChampionMove | None]:
    """Make the canary the primary; ``@champion`` follows when it named the old primary."""
    backend = client().backend
    return champion.promote(backend.deployments, backend.aliases, name, variant)


def rollback(name: str) -> tuple[Deployment, ChampionMove | None]:
    """Back to the last primary that served all traffic; ``@champion`` follows it back."""
    backend = client().backend
    return champion.rollback(backend.deployments, backend.aliases, name)


def undeploy(name: str) -> None:
    client().backend.deployments.undeploy(name)


def history(name: str, *, limit: int | None = None) -> builtins.list[DeploymentEvent]:
    """Every change of ``name``, oldest first (the newest ``limit``)."""
    return client().backend.deployments.history(name, limit=limit)


@contextmanager
def serve(names: Sequence[str] | None = None, *, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``names`` (all deployments when ``None``) in a thread of this process; yields the URL.

    For notebooks and tests: models load before it yields, traffic changes reach it within about a
    second, and the server stops when the block ends. ``modelyard serve`` is the production path.
    """
    server = build_app(client().backend, names)
    running = start_in_thread(server.app, host=host, port=port)
    try:
        yield running.url
    finally:
        running.stop()
