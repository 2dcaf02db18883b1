"""``modelyard features`` as a user runs it: a real subprocess against the test's store."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from modelyard.config import Settings
from modelyard.sdk.backends.local import LocalBackend
from tests._cli import run_modelyard

DEFS = """
from datetime import timedelta
from modelyard.features import Entity, FeatureView, Field, FileSource

card = Entity(name="card", join_keys=("card_id",))
profile = FeatureView(
    name="card_profile", entity="card", source=FileSource(path={path!r}),
    features=(Field(name="credit_limit"),), ttl=timedelta(days={days}),
)
"""


@pytest.fixture
def cli_settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", user="tester", capture_environment=False)


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MODELYARD_HOME": str(settings.home), "MODELYARD_USER": "tester"}
    return run_modelyard(["features", *args], env=env)


def test_apply_shows_the_plan_then_list_show_and_materialize(cli_settings: Settings, tmp_path: Path) -> None:
    data = tmp_path / "profiles.parquet"
    pd.DataFrame(
        {"card_id": [1, 2], "event_timestamp": pd.to_datetime(["2026-01-01", "2026-01-02"]), "credit_limit": [1.0, 2.0]}
    ).to_parquet(data)
    module = tmp_path / "defs.py"
    module.write_text(DEFS.format(path=str(data), days=1))

    dry = _cli(cli_settings, "apply", str(module), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "+ entity card" in dry.stdout and "Plan: 2 added" in dry.stdout
    assert json.loads(_cli(cli_settings, "list", "--json").stdout) == []

    applied = _cli(cli_settings, "apply", str(module))
    assert "Applied: 2 added, 0 changed, 0 removed." in applied.stdout
    assert "No changes" in _cli(cli_settings, "apply", str(module)).stdout

    module.write_text(DEFS.format(path=str(data), days=2))
    changed = json.loads(_cli(cli_settings, "apply", str(module), "--json").stdout)
    assert changed["changed"] == [{"kind": "feature_view", "name": "card_profile", "fields": ["ttl_s"]}]

    listed = json.loads(_cli(cli_settings, "list", "--json").stdout)
    assert {(d["name"], d["version"]) for d in listed} == {("card", 1), ("card_profile", 2)}
    shown = json.loads(_cli(cli_settings, "show", "card_profile", "--json").stdout)
    assert shown["spec"]["ttl_s"] == 172800.0 and [h["version"] for h in shown["history"]] == [1, 2]

    loaded = _cli(cli_settings, "materialize", "2025-12-31", "2026-01-03")
    assert loaded.returncode == 0, loaded.stderr
    assert "card_profile: 2 entities" in loaded.stdout


def test_errors_are_one_line_with_the_exit_code(cli_settings: Settings, tmp_path: Path) -> None:
    nowhere = _cli(cli_settings, "show", "nope")  # reading a store that does not exist creates none
    assert nowhere.returncode == 4 and "no modelyard store at" in nowhere.stderr
    LocalBackend.open(cli_settings).db.dispose()  # the store exists from here on
    missing = _cli(cli_settings, "show", "nope")
    assert missing.returncode == 4 and "no feature definition named 'nope'" in missing.stderr
    assert "Traceback" not in missing.stderr
    broken = tmp_path / "broken.py"
    broken.write_text(
        "from modelyard.features import FeatureView, FileSource\n"
        "v = FeatureView(name='v', entity='ghost', source=FileSource(path='x.parquet'), features=())\n"
    )
    bad = _cli(cli_settings, "apply", str(broken))
    assert bad.returncode == 2 and "needs at least one feature" in bad.stderr  # a bad definition is bad input
    undefined = tmp_path / "undefined.py"
    undefined.write_text(
        "from modelyard.features import FeatureView, FileSource, Field\n"
        "v = FeatureView(name='v', entity='ghost', source=FileSource(path='x.parquet'),"
        " features=(Field(name='a'),))\n"
    )
    refused = _cli(cli_settings, "apply", str(undefined))
    assert refused.returncode == 2 and "entity 'ghost', which is not defined" in refused.stderr


def test_deployments_features_refuses_bad_requests_with_their_exit_codes(cli_settings: Settings) -> None:
    env = {**os.environ, "MODELYARD_HOME": str(cli_settings.home), "MODELYARD_USER": "tester"}
    LocalBackend.open(cli_settings).db.dispose()  # the store exists: what is missing is the deployment

    def deployments(*args: str) -> subprocess.CompletedProcess[str]:
        return run_modelyard(["deployments", *args], env=env)

    missing = deployments("features", "nope", "--feature", "card_profile")
    assert missing.returncode == 4 and "no deployment named 'nope'" in missing.stderr
    both = deployments("features", "nope", "--feature", "card_profile", "--off")
    assert both.returncode == 2 and "--off" in both.stderr
    bad = deployments("features", "nope", "--feature", "card_profile", "--default", "limit=lots")
    assert bad.returncode == 2 and "feature=number" in bad.stderr
