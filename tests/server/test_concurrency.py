"""16 client processes log at once through one server, into SQLite and into PostgreSQL: every
metric, param and artifact arrives, and no call fails (a 5xx would fail the client process)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from modelyard.config import Settings
from modelyard.sdk.client import Client
from tests.server._running import RunningServer

CLIENTS = 16
STEPS = 300

_CLIENT = """
import sys
import modelyard as my

index, experiment, steps = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
client = my.Client()
run = client.create_run(experiment, run_name=f"worker-{index}")
run_id = run.info.run_id
client.log_params(run_id, {"worker": index, "steps": steps})
for step in range(steps):
    client.log_metric(run_id, "loss", 1.0 / (step + 1), step=step, synchronous=False)
client.log_metrics(run_id, {"a": 1.0, "b": 2.0}, step=0)
client.log_text(run_id, f"worker {index}", f"out/{index}.txt")
client.set_terminated(run_id)
"""


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_sixteen_processes_log_through_the_server_and_nothing_is_lost(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    server: RunningServer = request.getfixturevalue("sqlite_server" if engine == "sqlite" else "pg_server")
    settings = Settings(
        home=tmp_path / "home", tracking_uri=server.url, token=server.admin_token, capture_environment=False
    )
    client = Client(settings)
    experiment = client.create_experiment(f"concurrent-{engine}")
    log_before = server.log.read_text()
    env = {
        "MODELYARD_HOME": str(tmp_path / "home"),
        "MODELYARD_TRACKING_URI": server.url,
        "MODELYARD_TOKEN": server.admin_token,
        "MODELYARD_CAPTURE_ENVIRONMENT": "false",
        "PATH": "/usr/bin:/bin",
        **{k: v for k, v in os.environ.items() if k in ("PYTHONPATH", "HOME")},
    }
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _CLIENT, str(i), experiment, str(STEPS)], env=env, stderr=subprocess.PIPE, text=True
        )
        for i in range(CLIENTS)
    ]
    failures = [p.stderr.read() if p.stderr else "" for p in processes if p.wait(timeout=600) != 0]
    assert failures == []
    assert server.log.read_text() == log_before  # the server logged no error: no request failed, not even a retried one
    runs = client.search_runs([experiment], max_results=100)
    assert len(runs) == CLIENTS and {r.info.status.value for r in runs} == {"FINISHED"}
    for run in runs:
        index = int(run.data.params["worker"])
        history = client.get_metric_history(run.info.run_id, "loss")
        assert [m.step for m in history] == list(range(STEPS))
        assert run.data.metrics["a"] == 1.0 and run.data.metrics["b"] == 2.0
        assert client.backend.artifacts.read_bytes(run.info.run_id, f"out/{index}.txt") == f"worker {index}".encode()
