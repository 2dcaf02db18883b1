"""Reports: the deployment report and the dataset drift report open in headless Chromium without errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from modelyard.sdk.monitoring import datasets_drift, write_monitor_report
from tests.monitoring._chromium import CHROMIUM, open_page
from tests.monitoring.conftest import DEPLOYMENT, HOUR_MS, T0, Simulation, frame, model

needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)")


@needs_chromium
@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_monitor_report_opens_in_chromium_without_errors(simulation: Simulation, tmp_path: Path) -> None:
    service = simulation.service()
    service.create("m", DEPLOYMENT, simulation.reference_uri, window_ms=HOUR_MS, target="label")
    service.alerts.add_rule("m", "age", "psi(age) > 0.25")
    for h in range(3):
        simulation.traffic.hour(T0 + h * HOUR_MS, 300, shift=0.0 if h < 1 else 1.0)
    simulation.clock.advance(4 * HOUR_MS)
    service.run("m")

    out = write_monitor_report(simulation.backend, DEPLOYMENT, tmp_path / "report.html", clock=simulation.clock)

    text = out.read_text()
    assert "<script src=" not in text  # plotly.js is inline: the file opens offline
    assert "psi(age) &gt; 0.25" in text  # the open alert is listed
    errors = open_page(out, tmp_path / "report.png")
    assert errors == []
    assert (tmp_path / "report.png").stat().st_size > 10_000


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_dataset_drift_report_flags_the_shifted_column(simulation: Simulation, tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    shifted = frame(3_000, rng, shift=1.0)
    shifted["label"] = model(shifted)
    current = simulation.backend.datasets.log(shifted, "churn-train")

    drift, html = datasets_drift(simulation.backend, simulation.reference_uri, current.uri)

    assert "age" in drift.drifted_features and "income" not in drift.drifted_features
    assert "<tr class='hl'><td>age</td>" in html  # the drifted row is highlighted in the summary table
