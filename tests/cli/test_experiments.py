"""``modelyard experiments``: create, list, rename, delete and restore, for people and scripts."""

from __future__ import annotations

import json

import pytest

from cli.conftest import RunCli
from modelyard.domain.tracking import LifecycleStage
from modelyard.sdk.client import Client


def test_experiment_lifecycle(run_cli: RunCli, cli_client: Client) -> None:
    created = run_cli("experiments", "create", "churn", "--json")
    assert created.returncode == 0, created.stderr
    experiment_id = json.loads(created.stdout)["experiment_id"]
    assert json.loads(created.stdout) == {"experiment_id": experiment_id, "name": "churn"}

    again = run_cli("experiments", "create", "churn")
    assert again.returncode == 5  # AlreadyExists
    assert again.stderr.strip() == "error: an experiment named 'churn' already exists"
    assert again.stdout == ""

    renamed = run_cli("experiments", "rename", "churn", "churn-v2")
    assert renamed.returncode == 0, renamed.stderr
    assert "renamed experiment 'churn' to 'churn-v2'" in renamed.stdout

    deleted = run_cli("experiments", "delete", experiment_id)
    assert deleted.returncode == 0, deleted.stderr
    assert f"modelyard experiments restore {experiment_id}" in deleted.stdout
    assert cli_client.get_experiment(experiment_id).lifecycle_stage is LifecycleStage.DELETED

    listed = run_cli("experiments", "list", "--deleted", "--json")
    assert listed.returncode == 0, listed.stderr
    (only,) = json.loads(listed.stdout)
    assert (only["experiment_id"], only["name"], only["lifecycle_stage"]) == (experiment_id, "churn-v2", "deleted")

    restored = run_cli("experiments", "restore", "churn-v2")
    assert restored.returncode == 0, restored.stderr
    assert cli_client.get_experiment(experiment_id).lifecycle_stage is LifecycleStage.ACTIVE


def test_list_as_a_table_and_unknown_names(run_cli: RunCli, cli_client: Client) -> None:
    cli_client.create_experiment("visible-in-table")
    listed = run_cli("experiments", "list")
    assert listed.returncode == 0, listed.stderr
    assert "visible-in-table" in listed.stdout and "active" in listed.stdout
    missing = run_cli("experiments", "delete", "no-such-experiment")
    assert missing.returncode == 4  # NotFound
    assert missing.stderr.strip() == "error: no experiment named 'no-such-experiment'"


pytestmark = pytest.mark.slow  # each test runs the real command in new interpreters
