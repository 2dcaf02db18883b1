"""Alert rules, the life of an alert, and webhook delivery against real HTTP servers on loopback."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from modelyard.domain.monitoring import AlertStatus
from modelyard.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from modelyard.monitoring import parse_rule, post_json
from modelyard.sdk.backends.local import LocalBackend, local_backend
from modelyard.sdk.monitoring import monitoring
from tests.monitoring.conftest import DEPLOYMENT, HOUR_MS, T0, Simulation


class Receiver:
    """An HTTP server on 127.0.0.1 that answers 503 to the first ``failures`` POSTs, then 200."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.bodies: list[dict[str, Any]] = []
        self.attempts = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.attempts += 1
                if receiver.attempts <= receiver.failures:
                    self.send_response(503)
                else:
                    receiver.bodies.append(json.loads(body))
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def receiver_factory() -> Iterator[Any]:
    made: list[Receiver] = []

    def make(failures: int = 0) -> Receiver:
        made.append(Receiver(failures))
        return made[-1]

    yield make
    for r in made:
        r.close()


@pytest.mark.parametrize(
    ("text", "key", "op", "threshold", "windows"),
    [
        ("psi(age) > 0.25 for 2 consecutive windows", "psi:age", ">", 0.25, 2),
        ("share_drifted > 0.3", "share_drifted", ">", 0.3, 1),
        ("accuracy < 0.85", "accuracy", "<", 0.85, 1),
        ("p95_latency_ms >= 1e2 for 1 consecutive window", "p95_latency_ms", ">=", 100.0, 1),
        ("drifted( plan type ) == 1", "drifted:plan type", "==", 1.0, 1),
    ],
)
def test_rules_parse(text: str, key: str, op: str, threshold: float, windows: int) -> None:
    condition = parse_rule(text)
    assert (condition.key, condition.op, condition.threshold, condition.windows) == (key, op, threshold, windows)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("psi > 0.25", "psi is per feature; write psi(FEATURE)"),
        ("accuracy(age) < 0.8", "accuracy is per window and takes no feature"),
        ("acuracy < 0.8", "unknown metric 'acuracy'"),
        ("psi(age) 0.25", "no comparison"),
        ("psi(age) > high", "the right side 'high' does not start with a number"),
        ("psi(age) > 0.2 for two windows", "only 'for N consecutive windows' may follow"),
        ("  ", "an alert rule is empty"),
    ],
)
def test_bad_rules_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_rule(text)


def test_webhook_is_retried_with_backoff_until_it_answers(receiver_factory: Any) -> None:
    flaky = receiver_factory(failures=2)
    sleeps: list[float] = []
    delivery = post_json(flaky.url, {"alert": 1}, attempts=4, backoff_s=0.01, sleep=sleeps.append)
    assert (delivery.ok, delivery.attempts, delivery.status) == (True, 3, 200)
    assert flaky.bodies == [{"alert": 1}]
    assert sleeps == [0.01, 0.02]

    down = receiver_factory(failures=100)
    failed = post_json(down.url, {"alert": 2}, attempts=3, backoff_s=0.0)
    assert (failed.ok, failed.attempts, failed.error) == (False, 3, "HTTP 503")


def test_an_alert_fires_once_stays_open_and_fires_again_after_resolve(
    simulation: Simulation, receiver_factory: Any
) -> None:
    hook = receiver_factory(failures=2)
    service = simulation.service()
    service.create("m", DEPLOYMENT, simulation.reference_uri, window_ms=HOUR_MS)
    service.alerts.add_rule("m", "age", "psi(age) > 0.25", webhooks=[hook.url])
    for h in range(4):
        simulation.traffic.hour(T0 + h * HOUR_MS, 300, shift=1.0)

    simulation.clock.advance(2 * HOUR_MS)
    service.run("m")  # two drifted windows: one alert
    [alert] = service.alerts.list(active=True)
    assert alert.status is AlertStatus.OPEN
    assert [n["ok"] for n in alert.notifications] == [True] and alert.notifications[0]["attempts"] == 3
    assert hook.bodies[0]["id"] == alert.id and hook.bodies[0]["deployment"] == DEPLOYMENT

    acked = service.alerts.acknowledge(alert.id)
    assert acked.status is AlertStatus.ACKNOWLEDGED and acked.acknowledged_by == "tester"
    simulation.clock.advance(HOUR_MS)
    service.run("m")  # still drifting, still acknowledged: no second alert
    assert len(service.alerts.list()) == 1
    with pytest.raises(Conflict, match="only an open alert"):
        service.alerts.acknowledge(alert.id)

    service.alerts.resolve(alert.id)
    with pytest.raises(Conflict, match="resolved already"):
        service.alerts.resolve(alert.id)
    simulation.clock.advance(HOUR_MS)
    service.run("m")  # the drift goes on after the resolve: a new alert
    statuses = sorted(a.status.value for a in service.alerts.list())
    assert statuses == ["open", "resolved"]
    assert len(hook.bodies) == 2
    with pytest.raises(NotFound):
        service.alerts.resolve("ffffffff")
    with pytest.raises(InvalidInput, match="is not an alert id"):
        service.alerts.resolve("nope")


def test_rules_from_yaml(simulation: Simulation, tmp_path: Path) -> None:
    service = simulation.service()
    service.create("m", DEPLOYMENT, simulation.reference_uri, window_ms=HOUR_MS)
    path = tmp_path / "rules.yaml"
    path.write_text(
        "monitor: m\n"
        "rules:\n"
        "  - name: drift\n"
        "    when: share_drifted > 0.3 for 2 consecutive windows\n"
        "  - name: retrain\n"
        "    when: accuracy < 0.85\n"
        "    action: {run_pipeline: 'flows.train:training', params: {epochs: 3}}\n"
    )
    loaded = service.alerts.load_rules(path)
    assert [r.name for r in service.alerts.rules("m")] == ["drift", "retrain"] == [r.name for r in loaded]
    assert loaded[1].action == {"run_pipeline": "flows.train:training", "params": {"epochs": 3}}

    with pytest.raises(InvalidInput, match="is for monitor 'm', not 'other'"):
        service.alerts.load_rules(path, monitor="other")  # `monitor create other --rules` with m's file
    path.write_text("rules:\n  - {name: x, monitor: m, when: accuracy < 1}\n")
    with pytest.raises(InvalidInput, match="rule 'x' is for monitor 'm', not 'other'"):
        service.alerts.load_rules(path, monitor="other")

    path.write_text("rules:\n  - name: bad\n    monitor: m\n    when: accuracy <\n")
    with pytest.raises(InvalidInput, match="rule 'bad': cannot parse"):
        service.alerts.load_rules(path)
    path.write_text("rules:\n  - {name: x, monitor: m, when: accuracy < 1, action: {run_pipeline: nocolon}}\n")
    with pytest.raises(InvalidInput, match="module:attribute"):
        service.alerts.load_rules(path)


def test_monitor_and_rule_changes_are_audited(simulation: Simulation) -> None:
    """Deleting a monitor or an alert rule silences alerts: who did it is in the audit trail, and
    the chain still verifies."""
    service = simulation.service()
    audit = simulation.backend.audit
    before = {e.seq for e in audit.search()}
    service.create("m", DEPLOYMENT, simulation.reference_uri, window_ms=HOUR_MS)
    service.alerts.add_rule("m", "age", "psi(age) > 0.25", webhooks=["http://127.0.0.1:9/hook"])
    service.alerts.delete_rule("m", "age")
    service.delete("m")
    events = sorted((e for e in audit.search() if e.seq not in before), key=lambda e: e.seq)
    assert [(e.action, e.object_kind, e.object_id) for e in events] == [
        ("monitor.created", "monitor", "m"),
        ("alert_rule.set", "alert_rule", "m/age"),
        ("alert_rule.deleted", "alert_rule", "m/age"),
        ("monitor.deleted", "monitor", "m"),
    ]
    assert events[1].details["webhooks"] == ["http://127.0.0.1:9/hook"]
    assert {e.actor for e in events} == {"tester"}
    assert audit.verify().ok


def test_who_may_change_what_watches_a_deployment(simulation: Simulation) -> None:
    """Monitors, rules and alert states decide who gets paged: a viewer is refused (and the refusal
    audited), a contributor on the deployment may; the monitor's own windows and alerts need nobody."""
    simulation.backend.identity.create_user("vic", role="viewer")
    simulation.backend.identity.create_user("ops", role="contributor")
    owner = simulation.service()
    as_viewer = monitoring(_as(simulation, "vic"), clock=simulation.clock)
    as_operator = monitoring(_as(simulation, "ops"), clock=simulation.clock)

    with pytest.raises(PermissionDenied, match="deploy"):
        as_viewer.create("m", DEPLOYMENT, simulation.reference_uri, window_ms=HOUR_MS)
    as_operator.create("m", DEPLOYMENT, simulation.reference_uri, window_ms=HOUR_MS)
    with pytest.raises(PermissionDenied):
        as_viewer.alerts.add_rule("m", "age", "psi(age) > 0.25")
    as_operator.alerts.add_rule("m", "age", "psi(age) > 0.25")
    for h in range(3):
        simulation.traffic.hour(T0 + h * HOUR_MS, 300, shift=1.0)
    simulation.clock.advance(2 * HOUR_MS)
    owner.run("m")
    [alert] = as_viewer.alerts.list(active=True)  # reading is a viewer's right

    with pytest.raises(PermissionDenied):
        as_viewer.alerts.acknowledge(alert.id)
    with pytest.raises(PermissionDenied):
        as_viewer.alerts.resolve(alert.id)
    assert as_viewer.alerts.get(alert.id).status is AlertStatus.OPEN
    assert as_operator.alerts.acknowledge(alert.id).acknowledged_by == "ops"
    with pytest.raises(PermissionDenied):
        as_viewer.alerts.delete_rule("m", "age")
    with pytest.raises(PermissionDenied):
        as_viewer.delete("m")
    assert [r.name for r in owner.alerts.rules("m")] == ["age"] and owner.get("m").deployment == DEPLOYMENT

    denials = [e for e in simulation.backend.audit.search() if e.actor == "vic"]
    assert len(denials) == 6 and all(e.action == "permission.denied" for e in denials)
    assert simulation.backend.audit.verify().ok


def _as(simulation: Simulation, user: str) -> LocalBackend:
    return local_backend(simulation.backend.settings.model_copy(update={"user": user}))
