"""The fraud example ``make demo-features`` runs (``examples/fraud_features.py``), end to end in a process
of its own on a fresh store and the test Redis: point-in-time training, streamed transactions,
online enrichment at serving time, and lineage back to the raw files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from modelyard.config import Settings
from tests._subprocess import child_env
from tests.features.conftest import redis_url

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fraud_features.py"


def test_the_fraud_example_trains_on_point_in_time_features_and_serves_enriched(sqlite_settings: Settings) -> None:
    env = child_env(sqlite_settings, COLUMNS="200")
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), "--redis-url", redis_url()],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "added    feature_view card_activity" in out
    assert "consumed 6 stream entries" in out and "(lag now 0)" in out  # through Redis, not pushed directly
    assert "card 7, mid-burst: amount 470 -> fraud = 1" in out  # the streamed burst reached the model
    assert "quiet: amount 25 -> fraud = 0" in out
    assert "unknown card -> HTTP 404" in out
    assert "features: feature view card_activity v1" in out and "transactions.parquet" in out


def test_make_demo_points_to_the_fraud_example() -> None:
    root = EXAMPLE.parents[1]
    makefile = (root / "Makefile").read_text(encoding="utf-8")
    assert "demo-features:" in makefile and "examples/fraud_features.py" in makefile
    assert "make demo-features" in (root / "examples" / "demo.py").read_text(encoding="utf-8")
