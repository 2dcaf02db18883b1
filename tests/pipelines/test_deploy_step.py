"""The ``deploy_canary`` step: a candidate the gate refused deploys nothing (and the run succeeds);
a blessed one becomes a canary beside the primary, with an SLO and the pipeline run in the event;
the primary itself is not deployed again; an unknown deployment fails the step with a clear NotFound."""

from __future__ import annotations

import pytest

from modelyard.domain.serving import CanarySLO, EventKind, VariantMode, VariantSpec
from modelyard.pipelines import StepStatus, deploy_canary, pipeline
from modelyard.pipelines.gates import gate, register
from modelyard.sdk.client import Client
from tests.pipelines.gated_flows import CRITERIA, fit_segments, gated, make_segments

DEPLOYMENT = "churn-api"
SLO = CanarySLO(max_error_rate=0.05, min_requests=20, window_s=30.0)


@pipeline
def gated_canary(skew: float = 1.0, deployment: str = DEPLOYMENT) -> None:
    train = make_segments(300, 0, skew, False)
    holdout = make_segments(200, 99, 1.0, False)
    version = register(fit_segments(train), name="churn")
    verdict = gate(version, holdout, target="y", criteria=CRITERIA)
    deploy_canary(verdict, deployment=deployment, weight=25.0, slo=SLO)


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_deploy_canary_deploys_only_a_blessed_candidate(client: Client) -> None:
    gated.run({"skew": 0.3}, client=client).check()
    client.registry.set_registered_model_alias("churn", "champion", 1)
    deployments = client.backend.deployments
    deployments.deploy(DEPLOYMENT, [VariantSpec(uri="models:/churn@champion")])

    worse = gated_canary.run({"skew": -0.5}, client=client).check()
    assert worse.output("gate")["blessed"] is False
    refused = worse.output("deploy_canary")
    assert refused["deployed"] is False and "not blessed" in refused["reason"]
    assert refused["model"] == "models:/churn/2"
    unchanged = deployments.get(DEPLOYMENT)
    assert unchanged.revision == 1 and not unchanged.canaries
    assert [e.kind for e in deployments.history(DEPLOYMENT)] == [EventKind.DEPLOYED]

    better = gated_canary.run({"skew": 1.0}, client=client).check()
    deployed = better.output("deploy_canary")
    assert deployed == {
        "deployed": True,
        "deployment": DEPLOYMENT,
        "variant": "canary",
        "model": "models:/churn/3",
        "revision": 2,
    }
    now = deployments.get(DEPLOYMENT)
    assert now.primary is not None and now.primary.uri == "models:/churn/1"
    [canary] = now.canaries
    assert (canary.uri, canary.mode, canary.weight) == ("models:/churn/3", VariantMode.CANARY, 25.0)
    assert now.slo == SLO
    event = deployments.history(DEPLOYMENT)[-1]
    assert event.kind is EventKind.DEPLOYED and event.actor == client.settings.user
    assert event.details.pipeline_run_id == better.run.run_id
    assert event.details.model == "models:/churn/3"
    assert event.details.gate_verdict is not None and event.details.gate_verdict.endswith("gate/verdict.json")

    rerun = gated_canary.run({"skew": 0.3}, client=client).check()  # cached register: the champion again
    assert rerun.output("gate")["blessed"] is True
    assert rerun.output("deploy_canary")["deployed"] is False
    assert "already the primary" in rerun.output("deploy_canary")["reason"]
    assert deployments.get(DEPLOYMENT).revision == 2

    broken = gated_canary.run({"skew": 1.0, "deployment": "no-such-api"}, client=client)
    assert not broken.succeeded
    failed = broken.step("deploy_canary")
    assert failed.status is StepStatus.FAILED
    assert "no deployment named 'no-such-api'" in str(failed.error)
