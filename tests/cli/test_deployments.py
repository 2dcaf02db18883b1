"""``modelyard deployments`` and ``modelyard serve`` as users run them: real subprocesses on each engine."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from modelyard.config import Settings
from modelyard.domain.serving import EventDetails, VariantMode, VariantSpec
from modelyard.sdk.client import Client
from modelyard.store.tables.serving import deployment_events
from tests._cli import run_modelyard
from tests._subprocess import child_env, free_port
from tests.serving._deployed import FEATURES, Constant, classifier, register

MODELYARD = shutil.which("modelyard", path=str(Path(sys.executable).parent))

Cli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def env(settings: Settings) -> dict[str, str]:
    register(settings, "churn", [classifier(0.0), Constant(1)], champion=1)
    # the store's creator (settings.user) is its admin; the person at the CLI deploys as a contributor
    Client(settings).backend.identity.create_user("cli-user", role="contributor")
    return child_env(settings, user="cli-user")


@pytest.fixture
def cli(env: dict[str, str]) -> Cli:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return run_modelyard(["deployments", *args], env=env)

    return run


def champion(settings: Settings) -> int:
    return Client(settings).registry.get_model_version_by_alias("churn", "champion").version


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stderr
    return result


@pytest.mark.slow
def test_deploy_shift_promote_rollback_and_history(cli: Cli, settings: Settings) -> None:
    made = json.loads(
        ok(
            cli(
                "deploy", "churn-api", "models:/churn@champion", "--canary", "models:/churn/2", "--weight", "10",
                "--sticky-header", "x-customer-id", "--max-error-rate", "0.05", "--min-requests", "50", "--json",
            )
        ).stdout
    )  # fmt: skip
    assert [(v["name"], v["version"], v["weight"]) for v in made["variants"]] == [
        ("primary", 1, 0.0),
        ("canary", 2, 10.0),
    ]
    assert made["sticky"] == {"source": "header", "name": "x-customer-id"}
    assert made["slo"]["max_error_rate"] == 0.05 and made["slo"]["min_requests"] == 50

    table = ok(cli("show", "churn-api")).stdout
    assert "churn/2" in table and "90" in table and "x-customer-id" in table

    shifted = json.loads(ok(cli("set-traffic", "churn-api", "canary=30", "--json")).stdout)
    assert shifted["revision"] == 2 and shifted["variants"][1]["weight"] == 30.0
    assert "churn/2 30%" in ok(cli("list")).stdout

    promoted = json.loads(ok(cli("promote", "churn-api", "--json")).stdout)
    assert [(v["name"], v["version"]) for v in promoted["variants"]] == [("primary", 2)]
    assert champion(settings) == 2  # @champion named the old primary: it follows the promotion
    rolled = ok(cli("rollback", "churn-api"))
    assert "churn@champion: v2 -> v1 moved" in rolled.stdout
    assert champion(settings) == 1

    events = json.loads(ok(cli("history", "churn-api", "--json")).stdout)
    assert [(e["kind"], e["actor"], e["revision"]) for e in events] == [
        ("deployed", "cli-user", 1),
        ("traffic", "cli-user", 2),
        ("promoted", "cli-user", 3),
        ("rolled_back", "cli-user", 4),
    ]
    assert "rolled_back" in ok(cli("history", "churn-api")).stdout

    status = json.loads(ok(cli("status", "churn-api", "--json")).stdout)
    assert status["source"] == "events" and status["last_decision"] is None
    assert status["variants"][0]["traffic_percent"] == 100.0

    ok(cli("undeploy", "churn-api"))
    assert json.loads(ok(cli("list", "--json")).stdout) == []


BAD = [
    (("deploy", "d", "models:/churn/7"), 4, "registered model 'churn' has no version 7"),
    (("deploy", "d", "models:/churn/1", "--canary", "models:/churn/2", "--weight", "120"), 2, "within 0-100"),
    (("deploy", "d", "models:/churn/1", "--weight", "5"), 2, "1 --weight values for 0 --canary"),
    (("deploy", "d", "runs:/x"), 2, "registered model version"),
    (("deploy", "d", "models:/churn/1", "--max-error-rate", "3"), 2, "fraction within 0-1"),
    (("set-traffic", "nope", "canary=5"), 4, "no deployment named 'nope'"),
    (("promote", "nope"), 4, "no deployment named 'nope'"),
    (("history", "nope"), 4, "never deployed"),
]


def test_bad_input_is_one_readable_line_and_an_exit_code(cli: Cli) -> None:
    for args, code, message in BAD:
        result = cli(*args)
        assert result.returncode == code, (args, result.stderr)
        assert message in result.stderr, args
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "Traceback" not in result.stderr


def test_set_traffic_arguments_are_checked(cli: Cli) -> None:
    ok(cli("deploy", "d", "models:/churn/1", "--canary", "models:/churn/2"))
    bad = cli("set-traffic", "d", "canary")
    assert bad.returncode == 2 and "expected VARIANT=PERCENT" in bad.stderr
    bad = cli("set-traffic", "d", "canary=lots")
    assert bad.returncode == 2 and "is not a number" in bad.stderr


def test_serve_on_a_busy_port_is_one_line_and_exit_6(env: dict[str, str], cli: Cli) -> None:
    ok(cli("deploy", "churn-api", "models:/churn/1"))
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert MODELYARD is not None
        done = subprocess.run(
            [MODELYARD, "serve", "churn-api", "--port", str(port)], env=env, capture_output=True, text=True, timeout=120
        )
    assert done.returncode == 6, done.stderr
    assert (
        done.stderr.strip()
        == f"error: cannot listen on 127.0.0.1:{port}: the port is in use; choose another with --port"
    )


@pytest.fixture
def server(env: dict[str, str], cli: Cli) -> Iterator[str]:
    ok(cli("deploy", "churn-api", "models:/churn/1", "--canary", "models:/churn/2", "--weight", "0"))
    port = free_port()
    assert MODELYARD is not None
    process = subprocess.Popen(
        [MODELYARD, "serve", "churn-api", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            try:
                if httpx.get(f"{url}/v2/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "modelyard serve did not become ready"
            time.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.slow
def test_serve_follows_cli_traffic_changes_and_status_reads_its_metrics(cli: Cli, server: str) -> None:
    body = {"records": FEATURES.head(2).to_dict(orient="records")}
    with httpx.Client(base_url=server, timeout=10) as client:

        def version() -> str:
            response = client.post("/v1/deployments/churn-api/predict", json=body)
            assert response.status_code == 200, response.text
            return response.headers["x-modelyard-model-version"]

        assert {version() for _ in range(20)} == {"churn/1"}
        ok(cli("set-traffic", "churn-api", "canary=100"))
        deadline = time.monotonic() + 30
        while version() != "churn/2":
            assert time.monotonic() < deadline, "the server did not pick up the traffic change"
        assert {version() for _ in range(20)} == {"churn/2"}

    status = json.loads(ok(cli("status", "churn-api", "--url", server, "--json")).stdout)
    assert status["source"] == server
    by_variant = {v["variant"]: v for v in status["variants"]}
    assert by_variant["primary"]["requests"] >= 20 and by_variant["canary"]["requests"] >= 21
    assert by_variant["canary"]["errors"] == 0 and by_variant["canary"]["traffic_percent"] == 100.0
    assert by_variant["canary"]["mean_latency_ms"] > 0
    table = ok(cli("status", "churn-api", "--url", server)).stdout
    assert "canary" in table and "churn/2" in table

    unreachable = ok(cli("status", "churn-api", "--url", "http://127.0.0.1:1"))
    assert "not reachable" in unreachable.stdout


def test_history_reads_events_from_every_writer(cli: Cli, settings: Settings) -> None:
    """A person (the CLI), the SLO watcher, a pipeline's deploy_canary, and rows stored before
    events had one shape (the watcher's verdict a dict, deploy_canary's a URI string)."""
    backend = Client(settings).backend
    ok(cli("deploy", "churn-api", "models:/churn/1", "--canary", "models:/churn/2", "--weight", "10"))
    watcher = EventDetails(
        decided_by="slo-watcher",
        variant="canary",
        model_version="churn/2",
        slo={"max_error_rate": 0.01},
        figures={"requests": 40, "errors": 12},
        action="rollback",
        reasons=("error rate 30.00% > 1.00%",),
    )
    backend.deployments.rollback("churn-api", details=watcher, automatic=True)
    pipeline = EventDetails(
        decided_by="pipeline",
        reason="blessed by the validation gate",
        pipeline="retrain",
        pipeline_run_id="a" * 32,
        model="models:/churn/2",
        gate_verdict="file:///artifacts/gate/verdict.json",
    )
    backend.deployments.deploy(
        "churn-api",
        [VariantSpec(uri="models:/churn/1"), VariantSpec(uri="models:/churn/2", mode=VariantMode.CANARY, weight=5)],
        details=pipeline,
    )
    with backend.db.begin() as conn:  # two rows as older versions stored them
        for revision, details in (
            (4, {"verdict": {"action": "promote", "reasons": ["p95 12 ms <= 50 ms"]}, "figures": {"requests": 9}}),
            (5, {"reason": "blessed by the validation gate", "verdict": "file:///artifacts/gate/verdict.json"}),
        ):
            conn.execute(
                deployment_events.insert().values(
                    deployment="churn-api", kind="traffic", actor="old", time_ms=revision, revision=revision,
                    before=None, after=None, details=json.dumps(details),
                )
            )  # fmt: skip

    table = ok(cli("history", "churn-api")).stdout
    assert "error rate 30.00% > 1.00%" in table and "blessed by the validation gate" in table
    assert "p95 12 ms <= 50 ms" in table
    events = json.loads(ok(cli("history", "churn-api", "--json")).stdout)
    assert [e["details"].get("decided_by") for e in events] == [None, "slo-watcher", "pipeline", None, None]
    assert events[1]["details"]["reasons"] == ["error rate 30.00% > 1.00%"]
    assert events[2]["details"]["gate_verdict"] == events[4]["details"]["gate_verdict"]
    assert events[3]["details"]["action"] == "promote"
    status = json.loads(ok(cli("status", "churn-api", "--json")).stdout)
    assert status["last_decision"]["reasons"] == ["p95 12 ms <= 50 ms"]
    assert "p95 12 ms <= 50 ms" in ok(cli("status", "churn-api")).stdout


def test_explain_sample_is_set_shown_and_refused_when_not_a_share(cli: Cli) -> None:
    ok(cli("deploy", "churn-api", "models:/churn@champion", "--explain-sample", "0.1"))
    assert "attributions logged: 0.1 of answered requests (10 %)" in ok(cli("show", "churn-api")).stdout
    made = json.loads(ok(cli("explain-sample", "churn-api", "--rate", "0.05", "--json")).stdout)
    assert made["explain_sample"] == 0.05 and made["revision"] == 2
    assert "(5 %)" in ok(cli("show", "churn-api")).stdout
    assert json.loads(ok(cli("status", "churn-api", "--json")).stdout)["explain_sample"] == 0.05
    history = ok(cli("history", "churn-api")).stdout
    assert "explain_sample" in history and "attributions logged for 0.05" in history

    for args, code, message in [
        (("--rate", "5"), 2, "within 0-1"),
        (("--rate", "-0.5"), 2, "within 0-1"),
        (("--rate", "nan"), 2, "within 0-1"),
        (("--rate", "lots"), 2, "valid number"),
        ((), 2, "--rate"),
    ]:
        result = cli("explain-sample", "churn-api", *args)
        assert result.returncode == code, (args, result.stderr)
        assert message in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    missing = cli("explain-sample", "nope", "--rate", "0.1")
    assert missing.returncode == 4 and "no deployment named 'nope'" in missing.stderr
    assert "(5 %)" in ok(cli("show", "churn-api")).stdout  # nothing refused was written
    ok(cli("explain-sample", "churn-api", "--rate", "0"))
    assert "attributions logged: off" in ok(cli("show", "churn-api")).stdout
