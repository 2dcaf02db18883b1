"""A mistyped store location never becomes a new empty store: only writing commands create one."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.conftest import RunCli


def test_reading_a_missing_store_says_so_and_creates_nothing(run_cli: RunCli, tmp_path: Path) -> None:
    typo = tmp_path / "nonexistent" / "dir" / "x.db"
    done = run_cli("runs", "list", env={"MODELYARD_STORE_URI": f"sqlite:///{typo}"})
    assert done.returncode == 4
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]  # one line
    assert "no modelyard store at" in done.stderr and str(typo) in done.stderr
    assert not (tmp_path / "nonexistent").exists()


@pytest.mark.empty_store
def test_a_writing_command_creates_the_store_and_says_where_once(run_cli: RunCli, tmp_path: Path) -> None:
    home = tmp_path / "home"
    created = run_cli("experiments", "create", "churn")
    assert created.returncode == 0, created.stderr
    assert created.stderr.count("created a new modelyard store at") == 1 and str(home) in created.stderr
    again = run_cli("experiments", "create", "other")
    assert again.returncode == 0 and "created a new modelyard store" not in again.stderr
    listed = run_cli("experiments", "list")
    assert listed.returncode == 0 and "churn" in listed.stdout
