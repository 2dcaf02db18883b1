"""What a run records about its process: the entry point, the git commit and dirtiness, the environment."""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from modelyard.sdk import capture

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args], cwd=cwd, check=True, capture_output=True
    )


def _source_for(script: Path, monkeypatch: pytest.MonkeyPatch) -> capture.SourceInfo:
    monkeypatch.setattr(sys, "argv", [str(script)])
    return capture.capture_source.__wrapped__()


def test_a_script_in_a_clean_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _git(tmp_path, "init", "-q")
    script = tmp_path / "train.py"
    script.write_text("print('hi')\n")
    _git(tmp_path, "add", "train.py")
    _git(tmp_path, "commit", "-q", "-m", "first")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True).stdout.strip()
    source = _source_for(script, monkeypatch)
    assert source.name == str(script.resolve())
    assert source.git_commit == head
    assert source.git_dirty is False
    script.write_text("print('changed')\n")
    assert _source_for(script, monkeypatch).git_dirty is True


def test_a_script_outside_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "train.py"
    script.write_text("")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    source = _source_for(script, monkeypatch)
    assert (source.git_commit, source.git_dirty) == (None, None)


def test_an_interactive_session(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", [""])
    assert capture.capture_source.__wrapped__().name == "<interactive>"


def test_the_environment_is_content_addressed() -> None:
    env = capture.capture_environment()
    assert env.python_version == platform.python_version()
    assert env.platform == platform.platform()
    assert "sqlalchemy" in env.packages and "pytest" in env.packages
    body = {"python_version": env.python_version, "platform": env.platform, "packages": env.packages}
    assert env.digest == hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
