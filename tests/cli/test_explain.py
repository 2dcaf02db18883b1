"""``modelyard explain`` in a real subprocess: a table of importances, the HTML summary, one-line errors."""

from __future__ import annotations

from pathlib import Path

from modelyard.config import Settings
from modelyard.sdk.client import Client
from modelyard.sdk.explain import read_explanation
from tests.cli.conftest import RunCli
from tests.serving._deployed import FEATURES, classifier, register


def test_explain_prints_importances_and_writes_the_report(
    run_cli: RunCli, cli_settings: Settings, cli_client: Client, tmp_path: Path
) -> None:
    register(cli_settings, "churn", [classifier(0.0)], champion=1)
    dataset = cli_client.backend.datasets.log(FEATURES, "churn-features", user="tester")
    out = tmp_path / "report.html"

    done = run_cli("explain", "models:/churn@champion", "--data", dataset.uri, "--out", str(out),
                   "--feature", str(FEATURES.columns[0]))  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert "mean |SHAP|" in done.stdout and "(exact)" in done.stdout and f"wrote {out}" in done.stdout
    assert all(str(c) in done.stdout for c in FEATURES.columns)
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    stored = read_explanation(cli_client, "models:/churn/1")
    assert stored is not None and stored.data == dataset.uri and stored.rows == len(FEATURES)


def test_explain_refuses_an_unknown_feature_in_one_line(
    run_cli: RunCli, cli_settings: Settings, cli_client: Client
) -> None:
    register(cli_settings, "churn", [classifier(0.0)], champion=1)
    dataset = cli_client.backend.datasets.log(FEATURES, "churn-features", user="tester")
    done = run_cli("explain", "models:/churn/1", "--data", dataset.uri, "--feature", "nope")
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error: the model has no feature 'nope'")
    assert len(done.stderr.strip().splitlines()) == 1
