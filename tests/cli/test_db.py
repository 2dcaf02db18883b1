"""``modelyard db upgrade`` and ``modelyard version``."""

from __future__ import annotations

import pytest

from cli.conftest import RunCli
from modelyard.store.db import Database
from modelyard.store.migration import current_revision, head_revision


@pytest.mark.empty_store
def test_upgrade_creates_then_reports_up_to_date(run_cli: RunCli, tmp_path: object) -> None:
    first = run_cli("db", "upgrade")
    assert first.returncode == 0, first.stderr
    assert f"empty -> {head_revision()}" in first.stdout
    second = run_cli("db", "upgrade")
    assert second.returncode == 0, second.stderr
    assert f"already at revision {head_revision()}" in second.stdout


def test_upgrade_on_postgresql(run_cli: RunCli, postgres_url_factory: object) -> None:
    url = postgres_url_factory()  # type: ignore[operator]
    done = run_cli("db", "upgrade", env={"MODELYARD_STORE_URI": url})
    assert done.returncode == 0, done.stderr
    db = Database(url)
    try:
        assert current_revision(db) == head_revision()
    finally:
        db.dispose()


def test_an_unreachable_store_is_one_line_and_exit_9(run_cli: RunCli) -> None:
    done = run_cli("db", "upgrade", env={"MODELYARD_STORE_URI": "postgresql://u:pw@127.0.0.1:9/x?connect_timeout=2"})
    assert done.returncode == 9  # BackendUnavailable
    assert done.stderr.startswith("error: cannot connect to the store")
    assert "pw@" not in done.stderr and "Traceback" not in done.stderr


def test_version(run_cli: RunCli) -> None:
    done = run_cli("version")
    assert done.returncode == 0
    assert done.stdout.startswith("modelyard ")


pytestmark = pytest.mark.slow
