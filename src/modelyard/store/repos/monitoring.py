"""Monitors, their results per window, alert rules and alerts: rows in, domain records out."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, delete, func, select, update

from modelyard.domain.monitoring import Alert, AlertRule, AlertStatus, Monitor, MonitorResult, Task
from modelyard.store.repos.ids import resolve_prefix
from modelyard.store.tables.monitoring import alert_rules, alerts, monitor_results, monitors

# -- monitors ---------------------------------------------------------------------------------------


def add_monitor(conn: Connection, m: Monitor) -> None:
    conn.execute(
        monitors.insert().values(
            name=m.name,
            deployment=m.deployment,
            reference=m.reference,
            window_ms=m.window_ms,
            every_rows=m.every_rows,
            target=m.target,
            task=m.task.value,
            thresholds=json.dumps(m.thresholds),
            cursor_ms=m.cursor_ms,
            max_sample_rows=m.max_sample_rows,
            created_ms=m.created_ms,
            created_by=m.created_by,
            explain_model=m.explain_model,
        )
    )


def get_monitor(conn: Connection, name: str, *, for_update: bool = False) -> Monitor | None:
    stmt = select(monitors).where(monitors.c.name == name)
    if for_update and conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).first()
    return None if row is None else _monitor(row)


def list_monitors(conn: Connection, deployment: str | None = None) -> list[Monitor]:
    stmt = select(monitors).order_by(monitors.c.name)
    if deployment is not None:
        stmt = stmt.where(monitors.c.deployment == deployment)
    return [_monitor(r) for r in conn.execute(stmt)]


def set_cursor(conn: Connection, name: str, cursor_ms: int) -> None:
    conn.execute(update(monitors).where(monitors.c.name == name).values(cursor_ms=cursor_ms))


def delete_monitor(conn: Connection, name: str) -> None:
    for table, column in (
        (alert_rules, alert_rules.c.monitor),
        (monitor_results, monitor_results.c.monitor),
        (monitors, monitors.c.name),
    ):
        conn.execute(delete(table).where(column == name))


def _monitor(row: Row) -> Monitor:  # type: ignore[type-arg]
    return Monitor(
        name=row.name,
        deployment=row.deployment,
        reference=row.reference,
        window_ms=None if row.window_ms is None else int(row.window_ms),
        every_rows=None if row.every_rows is None else int(row.every_rows),
        target=row.target,
        task=Task(row.task),
        thresholds=json.loads(row.thresholds),
        cursor_ms=None if row.cursor_ms is None else int(row.cursor_ms),
        max_sample_rows=int(row.max_sample_rows),
        created_ms=int(row.created_ms),
        created_by=row.created_by,
        explain_model=row.explain_model,
    )


# -- results ----------------------------------------------------------------------------------------


def add_result(conn: Connection, r: MonitorResult) -> int:
    result = conn.execute(
        monitor_results.insert().values(
            monitor=r.monitor,
            deployment=r.deployment,
            start_ms=r.start_ms,
            end_ms=r.end_ms,
            rows=r.rows,
            metrics=_dumps(r.metrics),
            drift=_dumps(r.drift),
            distributions=_dumps(r.distributions),
            sampled=r.sampled,
            sample_rows=r.sample_rows,
            created_ms=r.created_ms,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def results(
    conn: Connection, monitor: str, *, limit: int | None = None, since_ms: int | None = None, detail: bool = True
) -> list[MonitorResult]:
    """Results of ``monitor``, oldest first; ``limit`` keeps the newest ones; ``detail=False`` skips the JSON blobs."""
    t = monitor_results.c
    cols = [t.id, t.monitor, t.deployment, t.start_ms, t.end_ms, t.rows, t.metrics, t.sampled, t.sample_rows]
    cols += [t.created_ms] + ([t.drift, t.distributions] if detail else [])
    stmt = select(*cols).where(t.monitor == monitor).order_by(t.end_ms.desc(), t.id.desc())
    if since_ms is not None:
        stmt = stmt.where(t.end_ms > since_ms)
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = list(conn.execute(stmt))
    return [_result(row, detail) for row in reversed(rows)]


def result_count(conn: Connection, monitor: str) -> int:
    return int(conn.execute(select(func.count()).where(monitor_results.c.monitor == monitor)).scalar_one())


def _result(row: Row, detail: bool) -> MonitorResult:  # type: ignore[type-arg]
    return MonitorResult(
        id=int(row.id),
        monitor=row.monitor,
        deployment=row.deployment,
        start_ms=int(row.start_ms),
        end_ms=int(row.end_ms),
        rows=int(row.rows),
        metrics={k: float(v) for k, v in json.loads(row.metrics).items()},
        drift=json.loads(row.drift) if detail else {},
        distributions=json.loads(row.distributions) if detail else {},
        sampled=bool(row.sampled),
        sample_rows=int(row.sample_rows),
        created_ms=int(row.created_ms),
    )


# -- alert rules ------------------------------------------------------------------------------------


def put_rule(conn: Connection, rule: AlertRule) -> None:
    """Insert ``rule`` or replace the rule of that name on its monitor."""
    conn.execute(delete(alert_rules).where(alert_rules.c.monitor == rule.monitor, alert_rules.c.name == rule.name))
    conn.execute(
        alert_rules.insert().values(
            monitor=rule.monitor,
            name=rule.name,
            expression=rule.expression,
            webhooks=json.dumps(list(rule.webhooks)),
            action=None if rule.action is None else json.dumps(rule.action),
            created_ms=rule.created_ms,
        )
    )


def rules(conn: Connection, monitor: str) -> list[AlertRule]:
    stmt = select(alert_rules).where(alert_rules.c.monitor == monitor).order_by(alert_rules.c.name)
    return [
        AlertRule(
            name=r.name,
            monitor=r.monitor,
            expression=r.expression,
            webhooks=tuple(json.loads(r.webhooks)),
            action=None if r.action is None else json.loads(r.action),
            created_ms=int(r.created_ms),
        )
        for r in conn.execute(stmt)
    ]


def delete_rule(conn: Connection, monitor: str, name: str) -> bool:
    res = conn.execute(delete(alert_rules).where(alert_rules.c.monitor == monitor, alert_rules.c.name == name))
    return bool(res.rowcount)


# -- alerts -----------------------------------------------------------------------------------------


def add_alert(conn: Connection, a: Alert) -> None:
    conn.execute(alerts.insert().values(**_alert_values(a)))


def save_alert(conn: Connection, a: Alert) -> None:
    values = _alert_values(a)
    del values["id"]
    conn.execute(update(alerts).where(alerts.c.id == a.id).values(**values))


def resolve_alert_id(conn: Connection, alert_id_or_prefix: str) -> str:
    """A full alert id from itself or a unique prefix of 4+ hex digits (the 8 the tables show)."""
    return resolve_prefix(conn, alerts.c.id, alert_id_or_prefix, "an alert")


def get_alert(conn: Connection, alert_id: str) -> Alert | None:
    row = conn.execute(select(alerts).where(alerts.c.id == alert_id)).first()
    return None if row is None else _alert(row)


def latest_alert(conn: Connection, monitor: str, rule: str) -> Alert | None:
    """The newest alert of ``rule`` on ``monitor``, whatever its status."""
    t = alerts.c
    stmt = select(alerts).where(t.monitor == monitor, t.rule == rule).order_by(t.opened_ms.desc(), t.id.desc())
    row = conn.execute(stmt.limit(1)).first()
    return None if row is None else _alert(row)


def list_alerts(
    conn: Connection,
    *,
    statuses: Sequence[AlertStatus] | None = None,
    monitor: str | None = None,
    deployment: str | None = None,
    limit: int = 200,
) -> list[Alert]:
    t = alerts.c
    stmt = select(alerts).order_by(t.opened_ms.desc(), t.id.desc()).limit(limit)
    if statuses is not None:
        stmt = stmt.where(t.status.in_([s.value for s in statuses]))
    if monitor is not None:
        stmt = stmt.where(t.monitor == monitor)
    if deployment is not None:
        stmt = stmt.where(t.deployment == deployment)
    return [_alert(r) for r in conn.execute(stmt)]


def _alert_values(a: Alert) -> dict[str, Any]:
    return {
        "id": a.id,
        "rule": a.rule,
        "monitor": a.monitor,
        "deployment": a.deployment,
        "expression": a.expression,
        "status": a.status.value,
        "value": _dumps(a.value),
        "message": a.message,
        "window_start_ms": a.window_start_ms,
        "window_end_ms": a.window_end_ms,
        "opened_ms": a.opened_ms,
        "updated_ms": a.updated_ms,
        "acknowledged_by": a.acknowledged_by,
        "resolved_by": a.resolved_by,
        "notifications": _dumps(list(a.notifications)),
        "action_result": None if a.action_result is None else _dumps(a.action_result),
    }


def _alert(row: Row) -> Alert:  # type: ignore[type-arg]
    return Alert(
        id=row.id,
        rule=row.rule,
        monitor=row.monitor,
        deployment=row.deployment,
        expression=row.expression,
        status=AlertStatus(row.status),
        value=float(json.loads(row.value)),
        message=row.message,
        window_start_ms=int(row.window_start_ms),
        window_end_ms=int(row.window_end_ms),
        opened_ms=int(row.opened_ms),
        updated_ms=int(row.updated_ms),
        acknowledged_by=row.acknowledged_by,
        resolved_by=row.resolved_by,
        notifications=tuple(json.loads(row.notifications)),
        action_result=None if row.action_result is None else json.loads(row.action_result),
    )


def _dumps(value: Any) -> str:
    """JSON where non-finite floats survive as the strings ``"inf"``, ``"-inf"``, ``"nan"``."""
    return json.dumps(_finite(value))


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
