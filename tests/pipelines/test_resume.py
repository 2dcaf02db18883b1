"""Resuming a failed pipeline run re-executes only the failed step and the steps after it."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelyard.domain.pipelines import PipelineStatus, StepStatus
from modelyard.errors import InvalidInput, NotFound, UserCodeError
from modelyard.pipelines import get_pipeline_run, resume_pipeline
from modelyard.sdk.client import Client
from tests.pipelines.conftest import executed
from tests.pipelines.flows import fragile


def test_resume_runs_only_the_failed_step_and_those_after_it(client: Client, trace: Path, tmp_path: Path) -> None:
    marker = tmp_path / "fail-now"
    marker.touch()
    failed = fragile.run({"marker": str(marker), "trace": str(trace)}, client=client, cache=False)
    assert not failed.succeeded
    statuses = {s.step_id: s.status for s in failed.steps}
    assert statuses["maybe_fail"] is StepStatus.FAILED and statuses["publish"] is StepStatus.SKIPPED
    assert "the marker file says fail" in (failed.step("maybe_fail").error or "")
    assert sorted(executed(trace)) == ["fit", "make_data", "make_weights", "maybe_fail", "score"]
    with pytest.raises(UserCodeError, match="maybe_fail"):
        failed.check()
    assert get_pipeline_run(client, failed.run.run_id).status is PipelineStatus.FAILED
    assert client.get_run(failed.run.run_id).info.status.value == "FAILED"

    marker.unlink()  # "fix the bug"
    resumed = resume_pipeline(failed.run.run_id, client=client).check()
    assert executed(trace) == ["maybe_fail", "publish"]
    assert resumed.run.resumed_from == failed.run.run_id
    assert [s.status for s in resumed.steps[:4]] == [StepStatus.REUSED] * 4  # even though cache=False
    assert resumed.output("publish").startswith("accuracy=")

    with pytest.raises(InvalidInput, match="nothing to resume"):
        resume_pipeline(resumed.run.run_id, client=client)
    with pytest.raises(NotFound):
        resume_pipeline("0" * 32, client=client)
