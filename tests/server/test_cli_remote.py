"""The same ``modelyard`` commands, embedded and through a server (``MODELYARD_TRACKING_URI`` +
``MODELYARD_TOKEN``), print the same results; commands that need the store refuse in one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests._cli import run_modelyard
from tests.server._running import ADMIN, RunningServer

SCRIPT = """
import modelyard as my
my.set_experiment("cli-demo")
with my.start_run(run_name="first"):
    my.log_params({"model": "rf"})
    my.log_metric("auc", 0.91)
"""


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELYARD_")}
    return {**env, "MODELYARD_HOME": str(home), "MODELYARD_CAPTURE_ENVIRONMENT": "false", **extra}


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_modelyard(args, env=env, timeout=180)


@pytest.mark.parametrize("mode", ["embedded", "server"])
def test_the_same_commands_give_the_same_results(mode: str, sqlite_server: RunningServer, tmp_path: Path) -> None:
    if mode == "embedded":
        env = _env(tmp_path / "home", MODELYARD_USER=ADMIN)
    else:
        env = _env(
            tmp_path / "home", MODELYARD_TRACKING_URI=sqlite_server.url, MODELYARD_TOKEN=sqlite_server.admin_token
        )
    assert subprocess.run([sys.executable, "-c", SCRIPT], env=env, timeout=180).returncode == 0
    runs = json.loads(_cli(env, "runs", "list", "-e", "cli-demo", "--json").stdout)
    assert [(r["info"]["run_name"], r["data"]["params"], r["data"]["metrics"]) for r in runs] == [
        ("first", {"model": "rf"}, {"auc": 0.91})
    ]
    assert _cli(env, "users", "create", f"dana-{mode}", "--role", "viewer").returncode == 0
    users = {
        u["user"]["name"]: [b["role"] for b in u["roles"]]
        for u in json.loads(_cli(env, "users", "list", "--json").stdout)
    }
    assert users[f"dana-{mode}"] == [1] and users[ADMIN] == [4]
    assert _cli(env, "audit", "verify").returncode == 0
    bad = _cli(env, "runs", "show", "0" * 32)
    assert bad.returncode == 4 and bad.stderr.count("\n") == 1


def test_commands_that_need_the_store_refuse_in_one_line(sqlite_server: RunningServer, tmp_path: Path) -> None:
    env = _env(tmp_path / "home", MODELYARD_TRACKING_URI=sqlite_server.url, MODELYARD_TOKEN=sqlite_server.admin_token)
    done = _cli(env, "alerts", "list")
    assert done.returncode == 2 and "needs direct access to the store" in done.stderr and done.stderr.count("\n") == 1


def test_gc_purges_deleted_runs_through_the_server(sqlite_server: RunningServer, tmp_path: Path) -> None:
    env = _env(tmp_path / "home", MODELYARD_TRACKING_URI=sqlite_server.url, MODELYARD_TOKEN=sqlite_server.admin_token)
    script = SCRIPT.replace("cli-demo", "cli-purge") + "print(my.last_active_run().info.run_id)\n"
    made = subprocess.run([sys.executable, "-c", script], env=env, timeout=180, capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    run_id = made.stdout.split()[-1]
    assert _cli(env, "runs", "delete", run_id).returncode == 0
    done = _cli(env, "runs", "gc", "--purge-deleted", "--run", run_id, "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)["purged"]
    assert report["purged"] == [run_id] and report["rows_removed"]["params"] == 1 and not report["dry_run"]
    shown = _cli(env, "runs", "show", run_id)
    assert shown.returncode == 4 and "no run" in shown.stderr
