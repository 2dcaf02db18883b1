"""Monitors, their per-window results, alert rules and alerts.

``monitor_results`` is append-only and read by ``(monitor, end_ms)`` to chart a monitor over time
and to evaluate "for N consecutive windows" rules; ``metrics``, ``drift`` and ``distributions``
are JSON. ``alerts`` are looked up by rule (is one still active?) and by status (what is open).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String, Table, Text

from modelyard.store.tables.base import metadata

monitors = Table(
    "monitors",
    metadata,
    Column("name", String(256), primary_key=True),
    Column("deployment", String(256), nullable=False),
    Column("reference", Text, nullable=False),
    Column("window_ms", BigInteger, nullable=True),
    Column("every_rows", Integer, nullable=True),
    Column("target", String(256), nullable=True),
    Column("task", String(32), nullable=False),
    Column("thresholds", Text, nullable=False),  # JSON object
    Column("cursor_ms", BigInteger, nullable=True),
    Column("max_sample_rows", Integer, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("created_by", String(256), nullable=False),
    Column("explain_model", Text, nullable=True),  # a models:/ URI: attribution shift per window
    Index("ix_monitors_deployment", "deployment"),
)

monitor_results = Table(
    "monitor_results",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("monitor", String(256), nullable=False),
    Column("deployment", String(256), nullable=False),
    Column("start_ms", BigInteger, nullable=False),
    Column("end_ms", BigInteger, nullable=False),
    Column("rows", BigInteger, nullable=False),
    Column("metrics", Text, nullable=False),  # JSON object of floats
    Column("drift", Text, nullable=False),  # JSON
    Column("distributions", Text, nullable=False),  # JSON
    Column("sampled", Boolean, nullable=False),
    Column("sample_rows", BigInteger, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Index("ix_monitor_results_monitor_end", "monitor", "end_ms"),
)

alert_rules = Table(
    "alert_rules",
    metadata,
    Column("monitor", String(256), primary_key=True),
    Column("name", String(256), primary_key=True),
    Column("expression", Text, nullable=False),
    Column("webhooks", Text, nullable=False),  # JSON list
    Column("action", Text, nullable=True),  # JSON object
    Column("created_ms", BigInteger, nullable=False),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("rule", String(256), nullable=False),
    Column("monitor", String(256), nullable=False),
    Column("deployment", String(256), nullable=False),
    Column("expression", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("value", Text, nullable=False),  # JSON number (may be inf)
    Column("message", Text, nullable=False),
    Column("window_start_ms", BigInteger, nullable=False),
    Column("window_end_ms", BigInteger, nullable=False),
    Column("opened_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    Column("acknowledged_by", String(256), nullable=True),
    Column("resolved_by", String(256), nullable=True),
    Column("notifications", Text, nullable=False),  # JSON list
    Column("action_result", Text, nullable=True),  # JSON object
    Index("ix_alerts_monitor_rule", "monitor", "rule", "opened_ms"),
    Index("ix_alerts_status", "status"),
)
