"""The hand-over from the validation gate to serving: a blessed candidate becomes a canary.

``deploy_canary`` closes the retraining loop: after ``gate`` blessed a candidate, it deploys the
candidate as a canary beside the deployment's current primary, with a ``CanarySLO``, so the canary
watcher of the running servers promotes it (or rolls it back) on measured figures, not by hand.
A candidate that was not blessed is not deployed, and the step still succeeds: the gate already
stored why, and a pipeline run that refused a worse model did its job. Nor is a candidate that
already is the primary (a rerun on unchanged data, whose cached ``register`` gave the same version).

The deployment change is an ordinary deployment event (actor, before, after) whose details name
the pipeline, its run and the gate's verdict, and it adds the lineage edge model version ->
deployment, so the chain alert -> pipeline run -> model version -> deployment can be followed.
"""

from __future__ import annotations

from typing import Any

from modelyard.domain.serving import CanarySLO, Deployment, EventDetails, VariantMode, VariantSpec
from modelyard.errors import Conflict, InvalidInput
from modelyard.pipelines.gates import VERDICT_TAG
from modelyard.pipelines.steps import StepContext, step
from modelyard.uris import parse_model_uri

CANARY_VARIANT = "canary"


@step(cache=False)
def deploy_canary(
    verdict: dict[str, Any],
    deployment: str,
    context: StepContext,
    weight: float = 10.0,
    slo: CanarySLO | None = None,
) -> dict[str, Any]:
    """Built-in step: deploy the model ``gate`` blessed as a ``weight`` % canary of ``deployment``.

    The current primary, shadows and sticky key stay; an earlier canary is replaced (the newest
    blessed candidate supersedes it). The SLO is ``slo``, else the deployment's own, else the
    defaults of ``CanarySLO``: a canary always has one, so the watcher always decides. ``NotFound``
    when the deployment does not exist (checked even for an unblessed candidate: a misnamed
    deployment is a broken pipeline, not a refused model).

    Never cached: what is deployed depends on the store's current state, not only on the inputs.
    """
    service = context.client.backend.deployments
    current = service.get(deployment)
    model = _model_of(verdict)
    if not verdict.get("blessed"):
        failed = int(verdict.get("failed_checks") or 0)
        return {
            "deployed": False,
            "reason": f"{model} was not blessed by the gate ({failed} failed checks); nothing deployed",
            "deployment": deployment,
            "variant": None,
            "model": model,
            "revision": current.revision,
        }
    primary = current.primary
    if primary is None:
        raise Conflict(
            f"deployment {deployment!r} is an A/B split: a canary needs a primary to run beside", deployment=deployment
        )
    if primary.uri == model:  # e.g. a rerun on unchanged data: the cached register step gave the same version
        return {
            "deployed": False,
            "reason": f"{model} is already the primary of deployment {deployment!r}; nothing deployed",
            "deployment": deployment,
            "variant": primary.name,
            "model": model,
            "revision": current.revision,
        }
    kept = _keep(current)
    name = None if any(v.name == CANARY_VARIANT for v in kept) else CANARY_VARIANT  # None: the service names it
    variants = [*kept, VariantSpec(uri=model, mode=VariantMode.CANARY, weight=weight, name=name)]
    uri = parse_model_uri(model)
    assert uri.version is not None  # _model_of accepts pinned versions only
    version = context.client.registry.get_model_version(uri.name, uri.version)
    after = service.deploy(
        deployment,
        variants,
        sticky=current.sticky,
        slo=slo or current.slo or CanarySLO(),
        details=EventDetails(
            decided_by="pipeline",
            reason="blessed by the validation gate",
            pipeline=context.pipeline,
            pipeline_run_id=context.pipeline_run_id,
            step_run_id=context.run_id,
            model=model,
            gate_verdict=version.tags.get(VERDICT_TAG),
        ),
    )
    canary = next(v for v in after.canaries if v.uri == model)
    return {
        "deployed": True,
        "deployment": deployment,
        "variant": canary.name,
        "model": model,
        "revision": after.revision,
    }


def _model_of(verdict: dict[str, Any]) -> str:
    """The candidate's ``models:/name/N`` from a gate verdict; ``InvalidInput`` for anything else."""
    model = verdict.get("model") if isinstance(verdict, dict) else None
    if not isinstance(model, str) or not model.startswith("models:/"):
        raise InvalidInput(f"deploy_canary takes the output of the gate step, got {verdict!r}")
    if parse_model_uri(model).version is None:
        raise InvalidInput(f"deploy_canary deploys a pinned model version (models:/<name>/<version>), got {model!r}")
    return model


def _keep(current: Deployment) -> list[VariantSpec]:
    """The variants that stay: the primary and the shadows, by their pinned versions and names."""
    return [
        VariantSpec(uri=v.uri, mode=v.mode, weight=v.weight, sample=v.sample, name=v.name)
        for v in current.variants
        if v.mode in (VariantMode.PRIMARY, VariantMode.SHADOW)
    ]
