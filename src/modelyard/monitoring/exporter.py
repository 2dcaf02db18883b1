"""Monitor results as Prometheus gauges, read from the store at scrape time.

Each scrape reads the newest result of every monitor (one small query per monitor) and exposes:

- ``modelyard_monitor_feature{deployment, monitor, feature, statistic}``: per-feature numbers
  (``psi``, ``ks``, ``wasserstein``, ``js``, ``tvd``, ``p_value``, ``drifted``, ``missing_rate``...),
  the predictions under ``feature="prediction"``;
- per-window numbers, one metric per unit kind (Prometheus naming: base units, no mixed units):
  ``modelyard_monitor_ratio{statistic}`` (``share_drifted``, ``error_rate``, ``invalid_rate``),
  ``modelyard_monitor_model_score{statistic}`` (``accuracy``, ``precision``, ``recall``, ``f1``,
  ``roc_auc``, ``r2``), ``modelyard_monitor_model_error{statistic}`` (``mae``, ``rmse``, in the
  target's unit), ``modelyard_monitor_latency_seconds{quantile}`` (0.5, 0.95, 0.99) and
  ``modelyard_monitor_latency_mean_seconds``, the counts ``modelyard_monitor_rows``,
  ``modelyard_monitor_requests``, ``modelyard_monitor_labelled_rows``,
  ``modelyard_monitor_drifted_features``, and ``modelyard_monitor_dataset_drifted`` (0 or 1);
- ``modelyard_monitor_window_end_timestamp_seconds{deployment, monitor}``: when the newest window ended;
- ``modelyard_alerts_active{deployment, monitor}``: open or acknowledged alerts.

Nothing is cached in the process, so any number of exporters (or server workers) agree.
``deploy/grafana/modelyard-monitoring.json`` charts these series.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

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
        families = {spec.name: spec.family() for spec in _WINDOW_METRICS.values()}
        window_end = GaugeMetricFamily(
            "modelyard_monitor_window_end_timestamp_seconds",
            "End of the newest finished window of a monitor (Unix time)",
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
                elif statistic in _WINDOW_METRICS:
                    spec = _WINDOW_METRICS[statistic]
                    families[spec.name].add_metric([*labels, *spec.label], number * spec.scale)
        yield from (feature, *families.values(), window_end, active)


@dataclass(frozen=True)
class _Metric:
    """Where a per-window number goes: the metric, its extra label value, and the factor to base units."""

    name: str
    help: str
    label_name: str | None = None
    label: tuple[str, ...] = ()
    scale: float = 1.0

    def family(self) -> GaugeMetricFamily:
        extra = [self.label_name] if self.label_name else []
        return GaugeMetricFamily(self.name, self.help, labels=["deployment", "monitor", *extra])


def _group(name: str, help: str, label_name: str, values: dict[str, str], scale: float = 1.0) -> dict[str, _Metric]:
    return {key: _Metric(name, help, label_name, (label,), scale) for key, label in values.items()}


_WINDOW_METRICS: dict[str, _Metric] = {
    **_group(
        "modelyard_monitor_ratio",
        "Shares of a monitor's newest window (0-1): drifted features, server errors, callers' errors",
        "statistic",
        {k: k for k in ("share_drifted", "error_rate", "invalid_rate")},
    ),
    **_group(
        "modelyard_monitor_model_score",
        "Model performance on the labelled rows of the newest window (accuracy, F1, ROC AUC, R²...)",
        "statistic",
        {k: k for k in ("accuracy", "precision", "recall", "f1", "roc_auc", "r2")},
    ),
    **_group(
        "modelyard_monitor_model_error",
        "Regression error on the labelled rows of the newest window, in the target's unit",
        "statistic",
        {k: k for k in ("mae", "rmse")},
    ),
    **_group(
        "modelyard_monitor_latency_seconds",
        "Latency quantiles of the answered requests of the newest window",
        "quantile",
        {"p50_latency_ms": "0.5", "p95_latency_ms": "0.95", "p99_latency_ms": "0.99"},
        scale=1e-3,
    ),
    "mean_latency_ms": _Metric(
        "modelyard_monitor_latency_mean_seconds",
        "Mean latency of the answered requests of the newest window",
        scale=1e-3,
    ),
    "rows": _Metric("modelyard_monitor_rows", "Rows scored in the newest window"),
    "requests": _Metric("modelyard_monitor_requests", "Requests in the newest window"),
    "labelled_rows": _Metric("modelyard_monitor_labelled_rows", "Rows of the newest window with a late label"),
    "drifted_count": _Metric("modelyard_monitor_drifted_features", "Drifted features in the newest window"),
    "dataset_drifted": _Metric("modelyard_monitor_dataset_drifted", "1 when the newest window drifted as a whole"),
}


def registry_for(db: Database) -> CollectorRegistry:
    """A registry holding only the monitor collector (for ``modelyard monitor exporter``)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MonitorCollector(db))
    return registry
