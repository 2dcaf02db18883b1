"""``modelyard datasets`` as a user runs it: a real subprocess against the store of the test."""

from __future__ import annotations

import json
import os
import subprocess

import numpy as np
import pandas as pd
import pytest

from modelyard.config import Settings
from modelyard.domain.data import DatasetVersion
from modelyard.sdk.backends.local import LocalBackend
from tests._cli import run_modelyard


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "MODELYARD_HOME": str(settings.home),
        "MODELYARD_STORE_URI": settings.store_uri,
        "MODELYARD_ARTIFACT_URI": settings.artifact_uri,
    }
    return run_modelyard(args, env=env)


@pytest.fixture
def versions(settings: Settings) -> tuple[DatasetVersion, DatasetVersion]:
    backend = LocalBackend.open(settings)
    rng = np.random.default_rng(5)
    a = pd.DataFrame({"amount": rng.normal(100, 15, 3_000), "country": rng.choice(["de", "fr", "it"], 3_000)})
    b = a.assign(amount=a["amount"] * 1.3, country=a["country"].replace("it", "es"), device="mobile")
    try:
        return backend.datasets.log(a, "payments"), backend.datasets.log(b, "payments", source="s3://x/b.csv")
    finally:
        backend.db.dispose()


def test_list_show_and_diff(settings: Settings, versions: tuple[DatasetVersion, DatasetVersion]) -> None:
    a, b = versions
    listed = _cli(settings, "datasets", "list")
    assert listed.returncode == 0, listed.stderr
    assert "payments" in listed.stdout and b.digest[:12] in listed.stdout

    shown = _cli(settings, "datasets", "show", f"datasets:/payments@{a.digest[:8]}")
    assert shown.returncode == 0, shown.stderr
    assert a.uri in shown.stdout and "amount" in shown.stdout and "country" in shown.stdout

    as_json = json.loads(_cli(settings, "datasets", "show", b.uri, "--json").stdout)
    assert as_json["digest"] == b.digest and as_json["source_uri"] == "s3://x/b.csv"
    assert [c["name"] for c in as_json["profile"]["columns"]] == ["amount", "country", "device"]

    diff = json.loads(_cli(settings, "datasets", "diff", a.uri, b.uri, "--json").stdout)
    assert [c["name"] for c in diff["added"]] == ["device"] and diff["removed"] == []
    columns = {c["name"]: c for c in diff["columns"]}
    assert columns["amount"]["psi"] > 1.0
    assert columns["country"]["new_levels"] == ["es"]
    assert columns["country"]["tvd"] == pytest.approx(a.profile.column("country").counts[-1] / 3_000, abs=0.05)

    table = _cli(settings, "datasets", "diff", a.uri, b.uri)
    assert table.returncode == 0 and "added" in table.stdout and "PSI" in table.stdout


def test_errors_are_one_line_and_a_nonzero_exit(settings: Settings, versions: tuple[DatasetVersion, ...]) -> None:
    missing = _cli(settings, "datasets", "show", "datasets:/payments@ffffffff0000")
    assert missing.returncode == 4
    assert missing.stderr.strip().startswith("error:") and len(missing.stderr.strip().splitlines()) == 1
    bad = _cli(settings, "datasets", "diff", "payments", "datasets:/payments@abcd")
    assert bad.returncode == 2 and "not a dataset URI" in bad.stderr
    unknown = _cli(settings, "datasets", "list", "nope")
    assert unknown.returncode == 4 and "no dataset named 'nope'" in unknown.stderr


def test_drift_flags_a_level_the_reference_never_held(settings: Settings) -> None:
    """Issue 20: from the reference's stored profile, a new level at 4 % of the rows is drift."""
    rng = np.random.default_rng(20)
    probs = 1.0 / np.arange(1, 36) ** 1.1
    labels = np.array([f"region_{i:02d}" for i in range(35)], dtype=object)
    reference = pd.DataFrame({"region": labels[rng.choice(35, 40_000, p=probs / probs.sum())]})
    current = pd.DataFrame({"region": labels[rng.choice(35, 40_000, p=probs / probs.sum())]})
    current.loc[rng.random(40_000) < 0.04, "region"] = "region_new"
    backend = LocalBackend.open(settings)
    try:
        a, b = backend.datasets.log(reference, "regions"), backend.datasets.log(current, "regions")
    finally:
        backend.db.dispose()

    checked = _cli(settings, "datasets", "drift", a.uri, b.uri, "--json", "--fail-on-drift")

    assert checked.returncode == 1, checked.stderr
    [region] = json.loads(checked.stdout)["features"]
    assert region["drifted"] and region["details"]["unseen_levels"] == ["region_new"]
    assert region["unseen_share"] == pytest.approx(0.04, abs=0.005) and region["details"]["tvd"] < 0.05
    table = _cli(settings, "datasets", "drift", a.uri, b.uri)
    assert table.returncode == 0 and "unseen share" in table.stdout and "drifted: region" in table.stdout
