"""``modelyard predict`` and ``modelyard feedback import`` in a real subprocess."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from modelyard.config import Settings
from modelyard.sdk.client import Client
from tests.cli.conftest import RunCli
from tests.serving._deployed import FEATURES, classifier, register


def test_predict_scores_a_file_in_chunks(run_cli: RunCli, cli_settings: Settings, tmp_path: Path) -> None:
    register(cli_settings, "churn", [classifier(0.0)], champion=1)
    source = tmp_path / "in.parquet"
    FEATURES.to_parquet(source, index=False)
    target = tmp_path / "scored.csv"

    done = run_cli("predict", "models:/churn@champion", "--input", str(source), "--output", str(target),
                   "--chunk-size", "7", "--proba")  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert f"wrote {len(FEATURES)} rows in 6 chunk(s)" in done.stdout
    out = pd.read_csv(target)
    model = classifier(0.0)
    np.testing.assert_array_equal(out["prediction"], model.predict(FEATURES))
    np.testing.assert_allclose(out[["proba_0", "proba_1"]], model.predict_proba(FEATURES))


def test_predict_refuses_bad_input_in_one_line(run_cli: RunCli, tmp_path: Path) -> None:
    done = run_cli("predict", "models:/churn/1", "--input", str(tmp_path / "a.txt"), "--output", "b.csv")
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'a.txt'}: unsupported file type '.txt'; use .parquet or .csv"
    ]


def test_feedback_import(run_cli: RunCli, cli_client: Client, tmp_path: Path) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_text("request_id,label\nr1,1\nr2,fraud\n")
    done = run_cli("feedback", "import", str(labels))
    assert done.returncode == 0, done.stderr
    assert "imported 2 label(s)" in done.stdout
    found = cli_client.backend.feedback.get_many(["r1", "r2"])
    assert {k: v.label for k, v in found.items()} == {"r1": 1, "r2": "fraud"}
