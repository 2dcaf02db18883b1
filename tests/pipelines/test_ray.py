"""The Ray executor runs the same pipeline with the same results, on a local Ray instance the test
starts; steps run as Ray tasks with their resource hints, retries and timeouts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from modelyard.domain.pipelines import StepStatus
from modelyard.sdk.client import Client
from tests.pipelines.flows import hanging, naps, retrying, training
from tests.pipelines.ray_flows import MEMORY, resourced

ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'modelyard[ray]')")

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)]


def test_ray_gives_the_same_results_as_in_process(local_ray: str, client: Client) -> None:
    on_ray = training.run({"rows": 80}, client=client, executor="ray", cache=False).check()
    inproc = training.run({"rows": 80}, client=client, cache=False).check()
    assert on_ray.run.executor == "ray"
    assert on_ray.executed() == inproc.executed() == ["make_data", "make_weights", "fit", "score"]
    assert on_ray.output("score") == inproc.output("score")
    assert on_ray.step("make_data").output == inproc.step("make_data").output  # same content, same version
    naps_run = naps.run({"seconds": 0.2}, client=client, executor="ray").check()
    assert naps_run.output("nap")["pid"] != os.getpid()  # the step ran in a Ray worker


def test_ray_tasks_get_the_steps_resource_hints(local_ray: str, client: Client) -> None:
    given = resourced.run(client=client, executor="ray").check().output("hinted")
    assert given["cpus"] == 2.0 and given["memory"] == MEMORY


def test_ray_retries_and_times_out_like_the_local_executor(local_ray: str, client: Client, tmp_path: Path) -> None:
    ok = retrying.run({"counter": str(tmp_path / "a"), "fail_times": 2}, client=client, executor="ray").check()
    assert ok.output("flaky") == 3 and ok.step("flaky").attempts == 3
    bad = retrying.run({"counter": str(tmp_path / "b"), "fail_times": 5}, client=client, executor="ray")
    assert bad.step("flaky").status is StepStatus.FAILED and "transient failure 3" in (bad.step("flaky").error or "")

    pidfile = tmp_path / "pid"
    stuck = hanging.run({"seconds": 60.0, "pidfile": str(pidfile)}, client=client, executor="ray").step("stuck")
    assert stuck.status is StepStatus.FAILED and "no result after 1 s" in (stuck.error or "")
    assert int(pidfile.read_text()) != os.getpid()
