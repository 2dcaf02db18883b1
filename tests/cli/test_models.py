"""``modelyard models`` as users run it: a real subprocess against a store on each engine."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable

import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from modelyard.config import Settings
from modelyard.sdk.client import Client
from tests._cli import run_modelyard
from tests._subprocess import child_env

Cli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def cli(settings: Settings) -> Cli:
    env = child_env(settings)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return run_modelyard(["models", *args], env=env)

    return run


@pytest.fixture
def logged_uri(settings: Settings) -> str:
    features, target = load_iris(return_X_y=True, as_frame=True)
    client = Client(settings)
    run = client.create_run()
    logged = client.registry.log_model(run.info.run_id, LogisticRegression(max_iter=300).fit(features, target))
    client.set_terminated(run.info.run_id)
    return logged.uri


@pytest.mark.slow
def test_register_alias_stage_and_inspect(cli: Cli, logged_uri: str) -> None:
    first = cli("register", logged_uri, "churn", "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["version"] == 1
    second = cli("register", logged_uri, "churn", "--description", "again")
    assert second.returncode == 0 and "version 2 of 'churn'" in second.stdout

    assert cli("alias", "churn", "champion", "2").returncode == 0
    assert cli("stage", "churn", "1", "production").returncode == 0
    conflict = cli("stage", "churn", "2", "Production")
    assert conflict.returncode == 6
    assert "already in Production" in conflict.stderr and "Traceback" not in conflict.stderr
    moved = cli("stage", "churn", "2", "production", "--archive-existing", "--json")
    assert json.loads(moved.stdout)["stage"] == "Production"
    assert cli("tag", "churn", "team", "growth").returncode == 0
    assert cli("tag", "churn", "validated", "yes", "--version", "2").returncode == 0
    assert cli("describe", "churn", "the churn model").returncode == 0

    shown = json.loads(cli("show", "churn", "--json").stdout)
    assert shown["model"]["aliases"] == {"champion": 2}
    assert shown["model"]["tags"] == {"team": "growth"}
    assert shown["model"]["description"] == "the churn model"
    assert [(v["version"], v["stage"], v["tags"]) for v in shown["versions"]] == [
        (2, "Production", {"validated": "yes"}),
        (1, "Archived", {}),
    ]
    table = cli("versions", "churn")
    assert table.returncode == 0 and "@champion" in table.stdout and "Archived" in table.stdout
    listed = cli("list", "--filter", "tags.team = 'growth'", "--json")
    assert [m["name"] for m in json.loads(listed.stdout)] == ["churn"]

    assert cli("unalias", "churn", "champion").returncode == 0
    assert json.loads(cli("show", "churn", "--json").stdout)["model"]["aliases"] == {}


@pytest.mark.slow
def test_errors_are_one_line_with_an_exit_code(cli: Cli, logged_uri: str) -> None:
    missing = cli("show", "nope")
    assert missing.returncode == 4 and missing.stderr.strip() == "error: no registered model named 'nope'"
    bad_stage = cli("stage", "nope", "1", "live")
    assert bad_stage.returncode == 2 and "unknown stage 'live'" in bad_stage.stderr
    bad_source = cli("register", "/tmp/not-a-model", "m")
    assert bad_source.returncode == 2 and "cannot register" in bad_source.stderr
    assert cli("register", logged_uri, "m").returncode == 0
    assert cli("stage", "m", "1", "production").returncode == 0
    refused = cli("delete", "m", "--version", "1")
    assert refused.returncode == 6 and "archive it" in refused.stderr
    assert cli("stage", "m", "1", "archived").returncode == 0
    assert cli("delete", "m").returncode == 0
    assert json.loads(cli("list", "--json").stdout) == []
