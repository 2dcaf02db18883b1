"""Fixtures for pipeline tests: a client on a fresh store (each engine) and a trace file."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelyard.config import Settings
from modelyard.sdk.client import Client


@pytest.fixture
def client(settings: Settings) -> Client:
    return Client(settings)


@pytest.fixture
def trace(tmp_path: Path) -> Path:
    """A file each test step appends its name to when it really executes."""
    return tmp_path / "trace.txt"


def executed(trace: Path) -> list[str]:
    """The steps that executed since the trace was last cleared, in order; clears it."""
    if not trace.exists():
        return []
    names = trace.read_text(encoding="utf-8").split()
    trace.unlink()
    return names
