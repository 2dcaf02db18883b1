"""Built-in steps: data validation stops the pipeline with a report; the gate refuses a model worse
than the champion and blesses a better one, storing its verdict on the candidate version."""

from __future__ import annotations

import json

from modelyard.domain.pipelines import PipelineStatus, StepStatus
from modelyard.pipelines.gates import BLESSED_TAG, read_verdict
from modelyard.sdk.client import Client
from tests.pipelines.gated_flows import gated


def test_validation_failure_stops_the_pipeline_before_training_with_a_report(client: Client) -> None:
    result = gated.run({"corrupt": True}, client=client)
    assert result.run.status is PipelineStatus.FAILED
    statuses = {s.step_id: s.status for s in result.steps}
    assert statuses["validate_data"] is StepStatus.FAILED
    assert statuses["fit_segments"] is statuses["register"] is statuses["gate"] is StepStatus.SKIPPED
    error = result.step("validate_data").error or ""
    assert "column 'x1'" in error and "100.0" in error and "column 'seg'" in error and "'z'" not in error
    report = json.loads(
        client.backend.artifacts.read_bytes(result.step("validate_data").run_id or "", "validation/report.json")
    )
    assert report["passed"] is False and report["rows"] == 300
    failed = {(f["column"], f["failures"]) for f in report["failed"]}
    assert ("x1", 5) in failed and ("seg", 3) in failed
    assert client.registry.search_registered_models() == []  # nothing was trained or registered


def test_gate_blesses_a_better_model_and_refuses_a_worse_one(client: Client) -> None:
    registry = client.registry
    first = gated.run({"skew": 0.3}, client=client).check()
    assert first.output("gate")["blessed"] is True  # no champion yet: thresholds only
    assert registry.get_model_version_by_alias("churn", "challenger").version == 1
    registry.set_registered_model_alias("churn", "champion", 1)
    champion_auc = first.output("evaluate")["roc_auc"]

    worse = gated.run({"skew": -0.5}, client=client).check()
    assert worse.output("register")["version"] == 2
    assert worse.output("evaluate")["roc_auc"] < champion_auc
    verdict = read_verdict(client, "models:/churn/2")
    assert verdict.blessed is False and verdict.champion == "models:/churn/1"
    failing = [c for c in verdict.checks if not c.passed]
    assert any(c.name == "vs champion" and c.metric == "roc_auc" for c in failing)
    assert any(c.name.startswith("slice seg=") for c in failing)
    assert registry.get_model_version("churn", 2).tags[BLESSED_TAG] == "false"
    assert registry.get_model_version_by_alias("churn", "challenger").version == 1

    better = gated.run({"skew": 1.0}, client=client).check()
    assert better.output("evaluate")["roc_auc"] > champion_auc
    verdict = read_verdict(client, "models:/churn/3")
    assert verdict.blessed is True and all(c.passed for c in verdict.checks)
    assert {c.name for c in verdict.checks} >= {"threshold", "vs champion", "slice seg=a", "slice seg=b"}
    assert registry.get_model_version("churn", 3).tags[BLESSED_TAG] == "true"
    assert registry.get_model_version_by_alias("churn", "challenger").version == 3
