"""A process killed with SIGKILL: no half-written artifact visible, the store intact, its run KILLED.

These run the SDK in a separate interpreter (``_worker.py``) and kill it for real.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from modelyard.config import Settings
from modelyard.domain.tracking import RunStatus
from modelyard.sdk.backends.local import LocalBackend
from modelyard.store.artifacts import PARTIAL_SUFFIX

WORKER = str(Path(__file__).with_name("_worker.py"))
PAYLOAD_BYTES = 16 * 1024 * 1024


def _start(*args: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, WORKER, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.wait(timeout=30)
        raise AssertionError(f"the worker died before starting a run:\n{proc.stderr.read() if proc.stderr else ''}")
    return proc, str(json.loads(line)["run_id"])


def _kill(proc: subprocess.Popen[str]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


def _partials(folder: Path) -> list[Path]:
    return [p for p in folder.rglob(f"*{PARTIAL_SUFFIX}")] if folder.exists() else []


def _open(settings: Settings, **changes: object) -> LocalBackend:
    return LocalBackend.open(settings.model_copy(update=changes))


@pytest.mark.slow
def test_sigkill_while_writing_an_artifact_leaves_no_partial_file_visible(settings: Settings, tmp_path: Path) -> None:
    payload = tmp_path / "payload.bin"
    payload.write_bytes(os.urandom(1024) * (PAYLOAD_BYTES // 1024))
    proc, run_id = _start("artifacts", settings.store_uri, settings.artifact_uri, str(payload))
    run_folder = Path(settings.artifact_uri)
    try:
        deadline = time.monotonic() + 60
        while not _partials(run_folder) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.001)
        assert _partials(run_folder), "the worker never got to write an artifact"
    finally:
        _kill(proc)
    assert _partials(run_folder), "killed mid-write: a hidden partial file is expected on disk"

    backend = _open(settings, heartbeat_timeout_s=3600.0)
    try:
        with backend.db.read() as conn:  # the store is readable and consistent
            if backend.db.is_sqlite:
                assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        half_written = {p.parent.name for p in _partials(run_folder)}
        run = backend.runs.get(run_id)
        written = int(run.data.metrics["written"])
        entries = backend.artifacts.list(run_id)
        assert all(not e.path.endswith(PARTIAL_SUFFIX) for e in entries)
        # every visible copy is whole: the ones completed, never the one being written
        for entry in entries:
            (child,) = backend.artifacts.list(run_id, entry.path)
            assert child.file_size == PAYLOAD_BYTES
        assert not half_written & {e.path for e in entries}  # not even as an empty folder
        assert len(entries) in (written, written + 1)
        # once the run counts as dead, its leftovers are removed from disk too
        assert backend.runs.gc(0.0001) == [run_id]
        assert _partials(run_folder) == []
        assert len(backend.artifacts.list(run_id)) == len(entries)
        backend.runs.log_params(run_id, {"after_crash": "still writable"})
    finally:
        backend.db.dispose()


@pytest.mark.slow
def test_a_run_whose_process_died_is_marked_killed_on_start_up(settings: Settings) -> None:
    proc, run_id = _start("hold", settings.store_uri, settings.artifact_uri)
    _kill(proc)
    patient = _open(settings, heartbeat_timeout_s=3600.0)  # a long timeout: not dead yet
    try:
        assert patient.runs.get(run_id).info.status is RunStatus.RUNNING
    finally:
        patient.db.dispose()
    time.sleep(0.2)
    impatient = _open(settings, heartbeat_timeout_s=0.1)  # opening the store runs the clean-up
    try:
        run = impatient.runs.get(run_id)
        assert run.info.status is RunStatus.KILLED
        assert run.info.end_time is not None
        assert run.data.params == {"held": "yes"}  # what it logged before dying is kept
        assert impatient.runs.gc(0.1) == []  # already handled
    finally:
        impatient.db.dispose()
