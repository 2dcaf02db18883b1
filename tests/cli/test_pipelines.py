"""``modelyard pipelines`` and ``modelyard gate`` as users run them: real subprocesses on a real store."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from modelyard.config import Settings
from modelyard.sdk.client import Client
from tests._cli import run_modelyard
from tests._subprocess import child_env

REPO = Path(__file__).resolve().parents[2]

Cli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def cli(settings: Settings) -> Cli:
    env = child_env(settings)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return run_modelyard(args, env=env, cwd=REPO, timeout=300)

    return run


@pytest.mark.slow
def test_run_inspect_and_gate(cli: Cli, settings: Settings) -> None:
    first = cli("pipelines", "run", "tests.pipelines.gated_flows:gated", "--param", "skew=0.3")
    assert first.returncode == 0, first.stderr
    assert "FINISHED" in first.stdout and "gate" in first.stdout
    assert any(line.startswith("pipeline run ") for line in first.stdout.splitlines())  # not glued to the table
    Client(settings).registry.set_registered_model_alias("churn", "champion", 1)

    worse = cli("pipelines", "run", "tests.pipelines.gated_flows:gated", "-p", "skew=-0.5")
    assert worse.returncode == 0, worse.stderr
    runs = json.loads(cli("pipelines", "runs", "gated", "--json").stdout)
    assert [r["params"]["skew"] for r in runs] == [-0.5, 0.3]
    assert {r["status"] for r in runs} == {"FINISHED"}
    shown = cli("pipelines", "show", runs[0]["run_id"])
    assert shown.returncode == 0 and "CACHED" in shown.stdout and "COMPLETED" in shown.stdout
    assert "gated" in cli("pipelines", "list").stdout

    blessed = cli("gate", "models:/churn/1")
    assert blessed.returncode == 0 and "BLESSED" in blessed.stdout
    refused = cli("gate", "models:/churn/2")
    assert refused.returncode == 1
    assert "NOT BLESSED" in refused.stdout and "vs champion" in refused.stdout and "FAIL" in refused.stdout


@pytest.mark.slow
def test_failure_resume_and_bad_input(cli: Cli, tmp_path: Path) -> None:
    marker = tmp_path / "fail"
    marker.touch()
    failed = cli("pipelines", "run", "tests.pipelines.flows:fragile", "--param", f"marker={marker}", "--no-cache")
    assert failed.returncode == 1
    assert "step maybe_fail failed" in failed.stdout and "the marker file says fail" in failed.stdout
    run_id = json.loads(cli("pipelines", "runs", "--json").stdout)[0]["run_id"]
    marker.unlink()
    resumed = cli("pipelines", "resume", run_id)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert resumed.stdout.count("REUSED") == 4

    bad = cli("pipelines", "run", "tests.pipelines.flows:fragile", "--param", "nope=1")
    assert bad.returncode == 2 and "no parameter 'nope'" in bad.stderr
    missing = cli("gate", "models:/nothing/1")
    assert missing.returncode == 4 and missing.stderr.count("\n") == 1
