"""What the SDK records about the process it runs in: its code (entry point, git commit) and its
software environment. Both are computed once per process; a run costs nothing extra."""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
import sys
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from modelyard.domain.tracking import Environment, SourceInfo

_GIT_TIMEOUT_S = 5


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=_GIT_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


@lru_cache(maxsize=1)
def capture_source() -> SourceInfo:
    """The entry point and, when it sits in a git checkout, its commit and whether it was dirty."""
    entry = sys.argv[0] if sys.argv and sys.argv[0] else ""
    entry_path = Path(entry).resolve() if entry and Path(entry).exists() else None
    name = str(entry_path) if entry_path else (entry or "<interactive>")
    folder = entry_path.parent if entry_path else Path.cwd()
    commit = _git(["rev-parse", "HEAD"], folder)
    if commit is None and folder != Path.cwd():
        # a console script (`modelyard pipelines run flows:train`) lives in the environment, not in
        # the user's checkout: the code it runs is imported from the working directory
        folder = Path.cwd()
        commit = _git(["rev-parse", "HEAD"], folder)
    dirty = None
    if commit is not None:
        status = _git(["status", "--porcelain", "--untracked-files=no"], folder)
        dirty = bool(status) if status is not None else None
    return SourceInfo(name=name, git_commit=commit, git_dirty=dirty)


@lru_cache(maxsize=1)
def capture_environment() -> Environment:
    """Python version, platform and installed distributions, content-addressed."""
    packages: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            packages[name.lower()] = dist.version
    body = {
        "python_version": platform.python_version(),
        "platform": platform.platform(),
        "packages": dict(sorted(packages.items())),
    }
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    return Environment(digest=digest, **body)  # type: ignore[arg-type]
