"""Monitoring: drift, performance and latency of served traffic, window by window, with alerts.

``MonitorService`` runs monitors over a deployment's inference log (a ``WindowSource``, handed in
by the SDK) against a dataset version's profile and stores one result per window;
``AlertService`` turns rules such as ``psi(age) > 0.25 for 2 consecutive windows`` into alerts
that notify webhooks and may run an action; ``reports`` renders self-contained HTML and
``exporter`` exposes the results to Prometheus. The drift statistics live in ``drift``.
"""

from typing import TYPE_CHECKING

from modelyard._lazy import lazy_exports

if TYPE_CHECKING:
    from modelyard.monitoring.alerts import ActionRunner as ActionRunner
    from modelyard.monitoring.alerts import AlertService as AlertService
    from modelyard.monitoring.exporter import MonitorCollector as MonitorCollector
    from modelyard.monitoring.exporter import registry_for as registry_for
    from modelyard.monitoring.monitors import MonitorService as MonitorService
    from modelyard.monitoring.monitors import ReferenceLoader as ReferenceLoader
    from modelyard.monitoring.monitors import drift_metrics as drift_metrics
    from modelyard.monitoring.reports import distributions as distributions
    from modelyard.monitoring.reports import drift_report as drift_report
    from modelyard.monitoring.reports import monitor_report as monitor_report
    from modelyard.monitoring.rules import Condition as Condition
    from modelyard.monitoring.rules import parse_rule as parse_rule
    from modelyard.monitoring.webhooks import Delivery as Delivery
    from modelyard.monitoring.webhooks import post_json as post_json
    from modelyard.monitoring.windows import ReservoirSample as ReservoirSample
    from modelyard.monitoring.windows import WindowSource as WindowSource
    from modelyard.monitoring.windows import parse_duration as parse_duration

__getattr__ = lazy_exports(__name__, __file__)
del TYPE_CHECKING, lazy_exports  # import plumbing, not part of the package's surface

__all__ = [
    "ActionRunner",
    "AlertService",
    "Condition",
    "Delivery",
    "MonitorCollector",
    "MonitorService",
    "ReferenceLoader",
    "ReservoirSample",
    "WindowSource",
    "distributions",
    "drift_metrics",
    "drift_report",
    "monitor_report",
    "parse_duration",
    "parse_rule",
    "post_json",
    "registry_for",
]
