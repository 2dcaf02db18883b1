"""Executors: local processes run independent steps at the same time; retries and timeouts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from modelyard.domain.pipelines import StepStatus
from modelyard.errors import InvalidInput
from modelyard.sdk.client import Client
from tests.pipelines.flows import hanging, rendezvous, retrying, training


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_local_processes_run_independent_steps_in_parallel(client: Client, tmp_path: Path) -> None:
    result = rendezvous.run({"folder": str(tmp_path)}, client=client, executor="local", max_workers=2).check()
    a, b = result.output("arrive"), result.output("arrive_2")
    # Each step saw the other's file while it was still running: both ran at once.
    assert a["met"] and b["met"] and result.output("pair") is True
    assert a["pid"] != b["pid"] != os.getpid()
    assert result.run.executor == "local"


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_local_processes_give_the_same_outputs_as_in_process(client: Client) -> None:
    local = training.run({"rows": 80}, client=client, executor="local", cache=False).check()
    inproc = training.run({"rows": 80}, client=client, cache=False).check()
    assert local.output("score") == inproc.output("score")
    assert local.step("make_data").output == inproc.step("make_data").output  # same content, same dataset version


@pytest.mark.parametrize("executor", ["inprocess", "local"])
@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_retries_until_success_and_give_up_after_the_last(client: Client, tmp_path: Path, executor: str) -> None:
    ok = retrying.run({"counter": str(tmp_path / "a"), "fail_times": 2}, client=client, executor=executor).check()
    assert ok.output("flaky") == 3 and ok.step("flaky").attempts == 3
    assert client.get_run(ok.step("flaky").run_id or "").data.metrics["attempts"] == 3.0

    bad = retrying.run({"counter": str(tmp_path / "b"), "fail_times": 5}, client=client, executor=executor)
    step = bad.step("flaky")
    assert step.status is StepStatus.FAILED and step.attempts == 3
    assert "transient failure 3" in (step.error or "")
    assert (tmp_path / "b").read_text() == "3"


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_step_over_its_timeout_fails_and_its_process_is_killed(client: Client, tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    result = hanging.run({"seconds": 60.0, "pidfile": str(pidfile)}, client=client, executor="local")
    step = result.step("stuck")
    assert step.status is StepStatus.FAILED
    assert "no result after 1 s" in (step.error or "")
    pid = int(pidfile.read_text())  # the step did start in its worker...
    with pytest.raises(ProcessLookupError):  # ... which is gone (killed and reaped), not sleeping on
        os.kill(pid, 0)


def test_unknown_executor_and_parameter_are_refused(client: Client) -> None:
    with pytest.raises(InvalidInput, match="unknown executor 'gpu'"):
        training.run(client=client, executor="gpu")
    with pytest.raises(InvalidInput, match="no parameter 'alpha'"):
        training.run({"alpha": 1}, client=client)
    with pytest.raises(InvalidInput, match="'rows': 'many' is not a valid int"):
        training.run({"rows": "many"}, client=client)
