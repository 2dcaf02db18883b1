"""SIGTERM and SIGKILL of a training process, for real: what it accepted ends up in the store.

SIGTERM (how Kubernetes, Ray, SLURM and CI runners stop work) ends the run KILLED with every
buffered metric stored, then hands the signal on (to the user's handler, or the default action).
SIGKILL cannot be handled: the values are in the spool file, and the next process to open the
store stores them. Each test waits for the child to print the value it logged *after*
``log_metric`` returned, so what was accepted before the kill is known without any timing.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from modelyard.config import Settings
from modelyard.domain.tracking import RunStatus
from modelyard.sdk.client import Client
from modelyard.sdk.spool import spool_dir

WORKER = str(Path(__file__).with_name("_killed_worker.py"))
ACCEPTED = 3_000  # values the child must have logged before it is signalled


def _start(mode: str, settings: Settings) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, WORKER, mode, str(settings.home), settings.store_uri],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()
    assert len(run_id) == 32, proc.stderr.read() if proc.stderr else run_id
    return proc, run_id


def _signal_after(proc: subprocess.Popen[str], signum: int) -> tuple[int, list[str]]:
    """Signal the child once it reports ``ACCEPTED`` values; returns the last value it reported
    before exiting, and whatever else it printed."""
    assert proc.stdout is not None
    last = -1
    while last < ACCEPTED:
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else "the worker stopped"
        last = int(line)
    proc.send_signal(signum)
    rest = proc.stdout.read().split()
    proc.wait(timeout=120)
    numbers = [int(word) for word in rest if word.isdigit()]
    return (max(numbers) if numbers else last), [word for word in rest if not word.isdigit()]


def _values(settings: Settings, run_id: str) -> list[int]:
    client = Client(settings)
    return sorted(int(m.value) for m in client.get_metric_history(run_id, "x"))


@pytest.fixture
def settings(sdk_settings: Settings) -> Settings:
    return sdk_settings


@pytest.mark.parametrize("mode", ["fluent", "client"])
def test_sigterm_stores_every_accepted_metric_and_ends_the_run_killed(settings: Settings, mode: str) -> None:
    Client(settings)  # the schema exists before the child starts
    proc, run_id = _start(mode, settings)
    last, _ = _signal_after(proc, signal.SIGTERM)
    assert proc.returncode == -signal.SIGTERM  # the default action still ends the process
    assert Client(settings).get_run(run_id).info.status is RunStatus.KILLED
    assert _values(settings, run_id) == list(range(last + 1))
    assert not list(spool_dir(settings.home, settings.store_uri).glob("*.spool"))  # drained, so removed


def test_sigterm_runs_the_handler_the_user_installed_after_draining(settings: Settings) -> None:
    Client(settings)
    proc, run_id = _start("fluent-chained", settings)
    last, words = _signal_after(proc, signal.SIGTERM)
    assert proc.returncode == 3
    assert " ".join(words) == "user handler"
    assert Client(settings).get_run(run_id).info.status is RunStatus.KILLED
    assert _values(settings, run_id) == list(range(last + 1))


@pytest.mark.parametrize("mode", ["fluent", "client"])
def test_sigkill_loses_no_accepted_metric(settings: Settings, mode: str) -> None:
    Client(settings)
    proc, run_id = _start(mode, settings)
    last, _ = _signal_after(proc, signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL
    # A fresh process opening the store replays the dead writer's spool.
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from modelyard.config import Settings; from modelyard.sdk.client import "
            "Client; Client(Settings.model_validate_json(sys.argv[1]))",
            settings.model_dump_json(),
        ],
        check=True,
    )
    stored = _values(settings, run_id)
    assert stored[: last + 1] == list(range(last + 1))  # every value accepted before the kill
    assert len(stored) == len(set(stored))  # and none twice
    assert not list(spool_dir(settings.home, settings.store_uri).glob("*.spool"))
