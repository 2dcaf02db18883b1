"""Governance from the shell (real subprocesses): the four-eyes promotion with two users, the
audit verify/export, the card and the compliance report. Kept few: each subprocess costs seconds."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from modelyard.sdk.client import Client
from tests.cli.conftest import RunCli


def _register(client: Client) -> None:
    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "y": [0, 0, 1, 1]})
    backend = client.backend
    experiment = backend.experiments.get_or_create("cli-governance")
    run = backend.runs.create(experiment.experiment_id, user="tester").info.run_id
    backend.datasets.log(frame, "toy", role="train", run_id=run, user="tester")
    logged = backend.logged_models.log(run, LogisticRegression().fit(frame[["x"]], frame["y"]), "model")
    backend.runs.end(run)
    backend.model_versions.create("toy", logged.uri, create_model=True)


def test_promotion_needs_a_second_user(run_cli: RunCli, cli_client: Client, tmp_path: Path) -> None:
    _register(cli_client)  # "tester" is the store's first user: admin
    assert run_cli("users", "create", "bob", "--role", "approver").returncode == 0
    assert run_cli("approvals", "policy", "toy").returncode == 0

    asked = run_cli("models", "stage", "toy", "1", "Production", "--reason", "beats baseline")
    assert asked.returncode == 3, asked.stderr  # pending: a result, not an error
    assert "pending approval #1" in asked.stdout and "approvals approve 1" in asked.stdout
    assert asked.stderr == ""

    own = run_cli("approvals", "approve", "1")
    assert own.returncode == 7 and "four-eyes" in own.stderr

    ok = run_cli("approvals", "approve", "1", "-m", "checked", env={"MODELYARD_USER": "bob"})
    assert ok.returncode == 0, ok.stderr
    assert "is applied" in ok.stdout
    assert cli_client.backend.model_versions.get("toy", 1).stage.value == "Production"

    verified = run_cli("audit", "verify")
    assert verified.returncode == 0 and "audit trail intact" in verified.stdout
    exported = run_cli("audit", "export", "--since", "2000-01-01")
    actions = [json.loads(line)["action"] for line in exported.stdout.splitlines()]
    assert "approval.applied" in actions and "permission.denied" in actions

    card = run_cli(
        "models", "card", "toy/1", "--set", "intended_use=demo only", "--set", "licenses=MIT",
        "--set", "citations=Doe et al., Toy models (2026)",
    )  # fmt: skip
    assert card.returncode == 0, card.stderr
    assert "# Model card: toy/1" in card.stdout and "demo only" in card.stdout
    assert "license: mit" in card.stdout and "Doe et al., Toy models (2026)" in card.stdout

    out = tmp_path / "annex"
    report = run_cli("compliance", "report", "toy/1", "--out", str(out))
    assert report.returncode == 0, report.stderr
    assert json.loads((out / "annex-iv.json").read_text())["subject"] == "toy/1"

    bad = run_cli("models", "card", "toy")
    assert bad.returncode == 2 and "NAME/VERSION" in bad.stderr


def test_readme_governance_example_runs_as_written(tmp_path: Path) -> None:
    """The README's four-eyes block, run by bash -e in a fresh MODELYARD_HOME as the OS user."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Governance") :]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELYARD_")}
    env["MODELYARD_HOME"] = str(tmp_path / "home")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(
        ["bash", "-e", "-c", block.group(1)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "pending approval #1" in done.stdout and "is applied" in done.stdout
    assert "audit trail intact" in done.stdout
    assert (tmp_path / "card.md").is_file()
    listed = subprocess.run(
        ["modelyard", "models", "versions", "churn", "--json"], env=env, capture_output=True, text=True, timeout=120
    )
    assert json.loads(listed.stdout)[0]["stage"] == "Production"


@pytest.mark.parametrize("days", ["nan", "inf", "1e308", "1e-12", "-1"])
def test_tokens_create_refuses_a_lifetime_that_is_not_a_sane_number_of_days(
    run_cli: RunCli, cli_client: Client, days: str
) -> None:
    result = run_cli("tokens", "create", "--expires-in-days", days)  # cli_client created the store
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "lifetime must be a number of days" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
