"""Alert rules on monitor results, and the life of an alert: fire once, stay open, resolve.

After each stored window the monitor asks ``AlertService.evaluate``: a rule whose condition holds
for its last N windows fires an alert unless one of that rule is still open (or acknowledged),
so a persisting drift is one alert, not one per window. Resolving closes it; the rule may fire
again only on a streak of windows that ends after the resolved alert's window.

Firing notifies the log (a WARNING on ``modelyard.monitoring.alerts``) and each webhook of the
rule (``webhooks.post_json``: retried with backoff), then runs the rule's action, if any, through
the ``ActionRunner`` the caller wired in: monitoring does not know what a pipeline is, the
interface layer does (``{"run_pipeline": "module:pipeline", "params": {...}}``).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from modelyard.clock import SYSTEM_CLOCK, Clock
from modelyard.domain.monitoring import Alert, AlertRule, AlertStatus, Monitor, MonitorResult
from modelyard.errors import Conflict, InvalidInput, NotFound
from modelyard.governance import guarded
from modelyard.ids import new_id
from modelyard.monitoring._governance import may_change, record
from modelyard.monitoring.rules import parse_rule
from modelyard.monitoring.webhooks import post_json
from modelyard.store.db import Database
from modelyard.store.repos import monitoring as rows

logger = logging.getLogger(__name__)

ActionRunner = Callable[[Alert, Mapping[str, Any]], dict[str, Any]]
"""Runs a rule's action for a fired alert; returns what to record (e.g. ``{"pipeline_run_id": ...}``)."""
Notifier = Callable[[str, dict[str, Any]], dict[str, Any]]
"""Delivers one alert payload to one URL; returns the delivery record."""

ACTION_KINDS = ("run_pipeline",)


def _default_notifier(url: str, payload: dict[str, Any]) -> dict[str, Any]:
    return post_json(url, payload).to_dict()


class AlertService:
    """Alert rules and alerts of monitors (see the module docstring)."""

    def __init__(
        self,
        db: Database,
        *,
        clock: Clock = SYSTEM_CLOCK,
        actor: str = "",
        action_runner: ActionRunner | None = None,
        notifier: Notifier = _default_notifier,
    ) -> None:
        self._db = db
        self._clock = clock
        self._actor = actor
        self.action_runner = action_runner
        self._notify = notifier

    # -- rules ------------------------------------------------------------------------------------

    def add_rule(
        self,
        monitor: str,
        name: str,
        expression: str,
        *,
        webhooks: tuple[str, ...] | list[str] = (),
        action: Mapping[str, Any] | None = None,
    ) -> AlertRule:
        """Add (or replace) the rule ``name`` of ``monitor``; the expression is parsed now."""
        parse_rule(expression)
        for url in webhooks:
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                raise InvalidInput(f"rule {name!r}: a webhook must be an http(s) URL, got {url!r}")
        rule = AlertRule(
            name=_rule_name(name),
            monitor=monitor,
            expression=expression.strip(),
            webhooks=tuple(webhooks),
            action=_check_action(name, action),
            created_ms=self._clock.now_ms(),
        )
        with guarded(self._db, self._clock) as conn:
            watched = rows.get_monitor(conn, monitor)
            if watched is None:
                raise NotFound(f"no monitor named {monitor!r}")
            may_change(conn, self._clock, self._actor, watched.deployment)
            rows.put_rule(conn, rule)
            details = {"expression": rule.expression, "webhooks": list(rule.webhooks), "action": rule.action}
            self._audit_rule(conn, "alert_rule.set", rule.monitor, rule.name, details)
        return rule

    def load_rules(self, path: str | Path, *, monitor: str | None = None) -> list[AlertRule]:
        """Add every rule of a YAML file; each is checked before any is stored.

        The file is ``{monitor: NAME, rules: [{name, when, webhooks?, action?, monitor?}, ...]}``
        (a bare list of rules works too, with ``monitor`` given here). A file or rule naming another
        monitor than the one given here is refused: the rules would silently watch something else.
        """
        try:
            doc = yaml.safe_load(Path(path).read_text())
        except FileNotFoundError:
            raise NotFound(f"no such file: {path}") from None
        except yaml.YAMLError as exc:
            raise InvalidInput(f"{path} is not valid YAML: {exc}") from None
        if isinstance(doc, dict):
            named = doc.get("monitor")
            if monitor is not None and named is not None and str(named) != monitor:
                raise InvalidInput(f"{path} is for monitor {named!r}, not {monitor!r}: fix its 'monitor:' or drop it")
            monitor = monitor if named is None else str(named)
            items = doc.get("rules")
        else:
            items = doc
        if not isinstance(items, list) or not items:
            raise InvalidInput(f"{path}: expected a list of rules under 'rules'")
        specs = []
        for index, item in enumerate(items):
            if not isinstance(item, dict) or "name" not in item or "when" not in item:
                raise InvalidInput(f"{path}: rule {index + 1} needs 'name' and 'when'")
            unknown = set(item) - {"name", "when", "webhooks", "action", "monitor"}
            if unknown:
                raise InvalidInput(f"{path}: rule {item['name']!r} has unknown key(s): {', '.join(sorted(unknown))}")
            target = item.get("monitor", monitor)
            if monitor is not None and target != monitor:
                raise InvalidInput(f"{path}: rule {item['name']!r} is for monitor {target!r}, not {monitor!r}")
            if not target:
                raise InvalidInput(f"{path}: rule {item['name']!r} names no monitor")
            try:
                parse_rule(str(item["when"]))
            except InvalidInput as exc:
                raise InvalidInput(f"{path}: rule {item['name']!r}: {exc.message}") from None
            specs.append((str(target), item))
        return [
            self.add_rule(
                target,
                str(item["name"]),
                str(item["when"]),
                webhooks=list(item.get("webhooks") or []),
                action=item.get("action"),
            )
            for target, item in specs
        ]

    def rules(self, monitor: str) -> list[AlertRule]:
        with self._db.read() as conn:
            return rows.rules(conn, monitor)

    def delete_rule(self, monitor: str, name: str) -> None:
        with guarded(self._db, self._clock) as conn:
            watched = rows.get_monitor(conn, monitor)
            if watched is not None:
                may_change(conn, self._clock, self._actor, watched.deployment)
            if watched is None or not rows.delete_rule(conn, monitor, name):
                raise NotFound(f"monitor {monitor!r} has no alert rule {name!r}")
            self._audit_rule(conn, "alert_rule.deleted", monitor, name, {})

    def _audit_rule(self, conn: Any, action: str, monitor: str, name: str, details: dict[str, Any]) -> None:
        # A rule changed or removed changes what will page someone: audited like the alerts.
        record(conn, self._clock, self._actor, action, object_kind="alert_rule", object_id=f"{monitor}/{name}",
               details=details)  # fmt: skip

    # -- firing -----------------------------------------------------------------------------------

    def evaluate(self, monitor: Monitor, result: MonitorResult) -> list[Alert]:
        """Fire the rules of ``monitor`` that ``result`` (the newest window) completes; returns new alerts."""
        fired: list[Alert] = []
        for rule in self.rules(monitor.name):
            condition = parse_rule(rule.expression)
            with self._db.read() as conn:
                recent = rows.results(conn, monitor.name, limit=condition.windows, detail=False)
                latest = rows.latest_alert(conn, monitor.name, rule.name)
            if not recent or recent[-1].end_ms != result.end_ms or not condition.fired_by(recent):
                continue
            if latest is not None and (latest.status.is_active or recent[0].end_ms <= latest.window_end_ms):
                continue  # still open, or this streak already fired before it was resolved
            fired.append(self._fire(monitor, rule, condition.key, result, recent[0].start_ms))
        return fired

    def _fire(self, monitor: Monitor, rule: AlertRule, key: str, result: MonitorResult, start_ms: int) -> Alert:
        now = self._clock.now_ms()
        value = result.metrics[key]
        alert = Alert(
            id=new_id(),
            rule=rule.name,
            monitor=monitor.name,
            deployment=monitor.deployment,
            expression=rule.expression,
            status=AlertStatus.OPEN,
            value=value,
            message=f"{monitor.deployment}: {rule.expression} (now {value:.6g})",
            window_start_ms=start_ms,
            window_end_ms=result.end_ms,
            opened_ms=now,
            updated_ms=now,
        )
        with self._db.begin() as conn:
            rows.add_alert(conn, alert)
            self._audit(conn, "alert.fired", alert, {"rule": rule.name, "value": value, "monitor": monitor.name})
        logger.warning("ALERT %s [%s] %s", alert.id, rule.name, alert.message)
        payload = alert.to_dict()
        notifications = tuple(self._notify(url, payload) for url in rule.webhooks)
        action_result = self._run_action(alert, rule.action) if rule.action else None
        alert = dataclasses.replace(alert, notifications=notifications, action_result=action_result)
        with self._db.begin() as conn:
            rows.save_alert(conn, alert)
            if action_result is not None:  # the edge alert -> what it ran (e.g. a pipeline run), audited
                self._audit(conn, "alert.action", alert, action_result)
        return alert

    def _audit(self, conn: Any, action: str, alert: Alert, details: dict[str, Any]) -> None:
        record(conn, self._clock, self._actor, action, object_kind="alert", object_id=alert.id, details=details)

    def _run_action(self, alert: Alert, action: Mapping[str, Any]) -> dict[str, Any]:
        if self.action_runner is None:
            logger.warning("alert %s: action %s not run: no action runner wired in", alert.id, dict(action))
            return {"status": "skipped", "reason": "no action runner in this process", "action": dict(action)}
        try:
            outcome = self.action_runner(alert, action)
        except Exception as exc:  # the alert is stored and notified already; record why the action failed
            logger.exception("alert %s: action %s failed", alert.id, dict(action))
            return {"status": "failed", "error": f"{type(exc).__name__}: {exc}", "action": dict(action)}
        return {"status": "done", **outcome}

    # -- lifecycle --------------------------------------------------------------------------------

    def get(self, alert_id: str) -> Alert:
        """An alert by its id or a unique prefix of 4+ hex digits."""
        with self._db.read() as conn:
            alert = rows.get_alert(conn, rows.resolve_alert_id(conn, alert_id))
        if alert is None:
            raise NotFound(f"no alert {alert_id!r}")
        return alert

    def list(
        self,
        *,
        status: AlertStatus | str | None = None,
        active: bool = False,
        monitor: str | None = None,
        deployment: str | None = None,
        limit: int = 200,
    ) -> list[Alert]:
        """Alerts, newest first; ``active`` keeps open and acknowledged ones."""
        statuses: list[AlertStatus] | None = None
        if status is not None:
            try:
                statuses = [AlertStatus(status)]
            except ValueError:
                raise InvalidInput(f"status must be open, acknowledged or resolved, got {status!r}") from None
        elif active:
            statuses = [AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED]
        with self._db.read() as conn:
            return rows.list_alerts(conn, statuses=statuses, monitor=monitor, deployment=deployment, limit=limit)

    def acknowledge(self, alert_id: str) -> Alert:
        """Someone is on it: the alert stays active (the rule does not fire again) until resolved."""
        alert = self.get(alert_id)
        if alert.status is not AlertStatus.OPEN:
            raise Conflict(f"alert {alert_id} is {alert.status.value}; only an open alert can be acknowledged")
        return self._save(alert, status=AlertStatus.ACKNOWLEDGED, acknowledged_by=self._actor)

    def resolve(self, alert_id: str) -> Alert:
        """Close the alert; its rule may fire again on a later streak of windows."""
        alert = self.get(alert_id)
        if alert.status is AlertStatus.RESOLVED:
            raise Conflict(f"alert {alert_id} is resolved already")
        return self._save(alert, status=AlertStatus.RESOLVED, resolved_by=self._actor)

    def _save(self, alert: Alert, **changes: Any) -> Alert:
        updated = dataclasses.replace(alert, updated_ms=self._clock.now_ms(), **changes)
        with guarded(self._db, self._clock) as conn:
            may_change(conn, self._clock, self._actor, alert.deployment)
            rows.save_alert(conn, updated)
            self._audit(conn, f"alert.{updated.status.value}", updated, {"rule": updated.rule})
        return updated


def _rule_name(name: str) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > 256:
        raise InvalidInput(f"an alert rule needs a name of 1-256 characters, got {name!r}")
    return name.strip()


def _check_action(rule: str, action: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if action is None:
        return None
    if not isinstance(action, Mapping):
        raise InvalidInput(f"rule {rule!r}: an action is a mapping like {{run_pipeline: module:pipeline}}")
    kinds = [k for k in ACTION_KINDS if k in action]
    if len(kinds) != 1:
        raise InvalidInput(f"rule {rule!r}: an action needs exactly one of {', '.join(ACTION_KINDS)}")
    target = action["run_pipeline"]
    if not isinstance(target, str) or ":" not in target:
        raise InvalidInput(f"rule {rule!r}: run_pipeline names a pipeline as module:attribute, got {target!r}")
    params = action.get("params", {})
    if not isinstance(params, Mapping):
        raise InvalidInput(f"rule {rule!r}: action params must be a mapping")
    unknown = set(action) - {"run_pipeline", "params"}
    if unknown:
        raise InvalidInput(f"rule {rule!r}: unknown action key(s): {', '.join(sorted(unknown))}")
    return {"run_pipeline": target, "params": {str(k): v for k, v in params.items()}}
