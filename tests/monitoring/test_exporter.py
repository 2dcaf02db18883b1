"""Prometheus: the newest window of each monitor as gauges, scraped over HTTP from a real exporter."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client import start_http_server
from prometheus_client.parser import text_string_to_metric_families

from modelyard.monitoring import registry_for
from modelyard.monitoring.exporter import _WINDOW_METRICS
from modelyard.monitoring.rules import WINDOW_METRICS
from tests.monitoring.conftest import DEPLOYMENT, HOUR_MS, T0, Simulation


def test_monitor_results_are_exported_as_gauges(simulation: Simulation) -> None:
    service = simulation.service()
    service.create("m", DEPLOYMENT, simulation.reference_uri, window_ms=HOUR_MS)
    service.alerts.add_rule("m", "age", "psi(age) > 0.25")
    simulation.traffic.hour(T0, 300, shift=1.0)
    simulation.clock.advance(2 * HOUR_MS)
    [result] = service.run("m")

    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry_for(simulation.backend.db))
    try:
        text = httpx.get(f"http://127.0.0.1:{server.server_port}/metrics").text
    finally:
        server.shutdown()
        thread.join()

    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    base = (("deployment", DEPLOYMENT), ("monitor", "m"))
    feature = ("modelyard_monitor_feature", (*base[:1], ("feature", "age"), base[1], ("statistic", "psi")))
    assert samples[feature] == result.metrics["psi:age"]
    assert (
        samples[("modelyard_monitor_ratio", (*base, ("statistic", "share_drifted")))] == result.metrics["share_drifted"]
    )
    assert samples[("modelyard_alerts_active", base)] == 1.0
    assert samples[("modelyard_monitor_window_end_timestamp_seconds", base)] == (T0 + HOUR_MS) / 1000

    # Issue 15.7: base units, one metric per unit kind (the Prometheus naming guide)
    p95 = samples[("modelyard_monitor_latency_seconds", (*base, ("quantile", "0.95")))]
    assert p95 == pytest.approx(result.metrics["p95_latency_ms"] / 1000)
    assert samples[("modelyard_monitor_rows", base)] == 300
    names = {family.name for family in text_string_to_metric_families(text)}
    assert not any(name.endswith("_ms") or "latency_ms" in name for name in names)
    assert "modelyard_monitor_value" not in names
    assert set(WINDOW_METRICS) == set(_WINDOW_METRICS)  # every per-window rule metric is exported
