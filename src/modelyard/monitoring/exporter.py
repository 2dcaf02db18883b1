"""Monitor results as Prometheus gauges, read from the store at scrape time.

Each scrape reads the newest result of every monitor (one small query per monitor) and exposes:

- ``modelyard_monitor_feature{deployment, monitor, feature, statistic}``: per-feature numbers
  (``psi``, ``ks``, ``wasserstein``, ``js``, ``tvd``, ``p_value``, ``drifted``, ``missing_rate``...),
  the predictions under ``feature="prediction"``;
- ``modelyard_monitor_value{deployment, monitor, statistic}``: per-window numbers
  (``share_drifted``, ``accuracy``, ``p95_latency_ms``, ``error_rate``, ``rows``...);
- ``modelyard_monitor_window_end_seconds{deployment, monitor}``: when the newest window ended;
- ``modelyard_alerts_active{deployment, monitor}``: open or acknowledged alerts.

Nothing is cached in the process, so any number of exporters (or server workers) agree.
``deploy/grafana/modelyard-monitoring.json`` charts these series.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from modelyard.domain.monitoring import AlertStatus
from modelyard.store.db import Database
from modelyard.store.repos import monitoring as rows


class MonitorCollector(Collector):
    """A Prometheus collector over the monitors of one store."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def collect(self) -> Iterator[GaugeMetricFamily]:
        feature = GaugeMetricFamily(
            "modelyard_monitor_feature",
            "Per-feature drift statistics of a monitor's newest window",
            labels=["deployment", "monitor", "feature", "statistic"],
        )
        value = GaugeMetricFamily(
            "modelyard_monitor_value",
            "Per-window numbers of a monitor's newest window (drift share, performance, latency)",
            labels=["deployment", "monitor", "statistic"],
        )
        window_end = GaugeMetricFamily(
            "modelyard_monitor_window_end_seconds",
            "End of the newest finished window of a monitor (epoch seconds)",
            labels=["deployment", "monitor"],
        )
        active = GaugeMetricFamily(
            "modelyard_alerts_active",
            "Open or acknowledged alerts of a monitor",
            labels=["deployment", "monitor"],
        )
        with self._db.read() as conn:
            monitors = rows.list_monitors(conn)
            latest = {m.name: rows.results(conn, m.name, limit=1, detail=False) for m in monitors}
            open_alerts = rows.list_alerts(conn, statuses=[AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED], limit=10_000)
        for monitor in monitors:
            labels = [monitor.deployment, monitor.name]
            active.add_metric(labels, float(sum(1 for a in open_alerts if a.monitor == monitor.name)))
            if not latest[monitor.name]:
                continue
            result = latest[monitor.name][-1]
            window_end.add_metric(labels, result.end_ms / 1000)
            for key, number in sorted(result.metrics.items()):
                if not math.isfinite(number):
                    continue
                statistic, sep, name = key.partition(":")
                if sep:
                    feature.add_metric([*labels, name, statistic], number)
                else:
                    value.add_metric([*labels, statistic], number)
        yield from (feature, value, window_end, active)


def registry_for(db: Database) -> CollectorRegistry:
    """A registry holding only the monitor collector (for ``modelyard monitor exporter``)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MonitorCollector(db))
    return registry
