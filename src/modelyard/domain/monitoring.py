"""Monitoring records: a monitor over a deployment's inference log, its results per window, alerts.

A *monitor* compares a deployment's served traffic with a reference (a dataset version's profile)
window by window: by time (``window_ms``) or by request rows (``every_rows``). Each finished
window leaves one ``MonitorResult`` whose ``metrics`` are flat numbers keyed as alert rules name
them (``share_drifted``, ``psi:age``, ``accuracy``, ``p95_latency_ms``), so results chart over
time and rules need no knowledge of how a number was computed. An *alert rule* watches those
numbers; an *alert* is one firing of a rule, open until someone resolves it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from modelyard.errors import InvalidInput


class Task(enum.StrEnum):
    """What the deployed model predicts; decides which performance metrics a window gets."""

    AUTO = "auto"
    CLASSIFICATION = "classification"
    REGRESSION = "regression"


@dataclass(frozen=True, kw_only=True)
class Monitor:
    """A monitor of ``deployment`` against ``reference`` (a ``datasets:/`` URI).

    Exactly one of ``window_ms`` / ``every_rows`` is set. ``target`` names the reference column
    the predictions are compared with (the training labels) for prediction drift; ``None`` skips
    prediction drift. ``cursor_ms`` is where the next window starts (``None``: at the first logged
    row). ``thresholds`` are ``DriftThresholds`` fields that differ from the defaults.
    ``explain_model`` (a ``models:/`` URI, usually the deployed version) adds attribution shift:
    each feature's share of total |SHAP| per window against the reference data's.
    """

    name: str
    deployment: str
    reference: str
    window_ms: int | None
    every_rows: int | None
    target: str | None
    task: Task
    thresholds: dict[str, Any] = field(default_factory=dict)
    cursor_ms: int | None = None
    max_sample_rows: int = 100_000
    created_ms: int = 0
    created_by: str = ""
    explain_model: str | None = None

    def __post_init__(self) -> None:
        if (self.window_ms is None) == (self.every_rows is None):
            raise InvalidInput("a monitor needs exactly one of a time window or a row count (--window / --every)")
        if self.window_ms is not None and self.window_ms < 1000:
            raise InvalidInput(f"a monitor window must be at least 1s, got {self.window_ms} ms")
        if self.every_rows is not None and self.every_rows < 1:
            raise InvalidInput(f"--every must be at least 1 row, got {self.every_rows}")
        if self.max_sample_rows < 100:
            raise InvalidInput(f"max_sample_rows must be at least 100, got {self.max_sample_rows}")


@dataclass(frozen=True, kw_only=True)
class MonitorResult:
    """One finished window of a monitor: ``[start_ms, end_ms)``, its numbers and drift detail.

    ``metrics`` holds every number a rule may name (see ``monitoring.rules``); ``drift`` the
    ``DatasetDrift.to_dict()`` of the features (and ``prediction_drift`` of the predictions);
    ``distributions`` the current window's histograms on the reference's bins, for reports.
    ``sampled`` says the drift was computed on a uniform sample of the window (``sample_rows``
    rows) because it held more rows than the monitor's cap.
    """

    monitor: str
    deployment: str
    start_ms: int
    end_ms: int
    rows: int
    metrics: dict[str, float]
    drift: dict[str, Any]
    distributions: dict[str, Any]
    sampled: bool
    sample_rows: int
    created_ms: int
    id: int | None = None


class AlertStatus(enum.StrEnum):
    """An alert's life: open -> (acknowledged ->) resolved. Only resolving closes it."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"

    @property
    def is_active(self) -> bool:
        return self is not AlertStatus.RESOLVED


@dataclass(frozen=True, kw_only=True)
class AlertRule:
    """A condition on a monitor's metrics, e.g. ``psi(age) > 0.25 for 2 consecutive windows``.

    ``action`` is what firing does besides notifying, e.g. ``{"run_pipeline": "flows:train",
    "params": {...}}``; ``webhooks`` are URLs that receive the alert as JSON.
    """

    name: str
    monitor: str
    expression: str
    webhooks: tuple[str, ...] = ()
    action: dict[str, Any] | None = None
    created_ms: int = 0


@dataclass(frozen=True, kw_only=True)
class Alert:
    """One firing of ``rule``: the window it fired on, the value seen, and what was done about it.

    ``notifications`` records each webhook delivery (url, ok, attempts, error); ``action_result``
    what the rule's action returned (e.g. ``{"pipeline_run_id": ...}``) or its error.
    """

    id: str
    rule: str
    monitor: str
    deployment: str
    expression: str
    status: AlertStatus
    value: float
    message: str
    window_start_ms: int
    window_end_ms: int
    opened_ms: int
    updated_ms: int
    acknowledged_by: str | None = None
    resolved_by: str | None = None
    notifications: tuple[dict[str, Any], ...] = ()
    action_result: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The alert as webhooks receive it."""
        return {
            "id": self.id,
            "rule": self.rule,
            "monitor": self.monitor,
            "deployment": self.deployment,
            "expression": self.expression,
            "status": self.status.value,
            "value": self.value,
            "message": self.message,
            "window_start_ms": self.window_start_ms,
            "window_end_ms": self.window_end_ms,
            "opened_ms": self.opened_ms,
        }
