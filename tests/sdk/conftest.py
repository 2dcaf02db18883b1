"""SDK fixtures: settings on each engine, a fluent API pointed at them, and a clean slate after.

The SDK keeps per-process state (one backend per settings, one writer per backend, the fluent
API's active-run stack); each test gets fresh copies and every backend it opened is closed after,
so PostgreSQL connections do not pile up across the suite.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tracking._fast_store import _sqlite_template as _sqlite_template
from tracking._fast_store import fast_store_url as fast_store_url
from tracking._fast_store import shared_postgres_url as shared_postgres_url

from modelyard.config import Settings
from modelyard.sdk import client as client_module
from modelyard.sdk import fluent
from modelyard.sdk.backends import local


def _close_sdk_state() -> None:
    for writer in list(client_module._writers.values()):
        writer.close()
    client_module._writers.clear()
    for backend in list(local._backends.values()):
        backend.db.dispose()
    local._backends.clear()


@pytest.fixture
def sdk_settings(fast_store_url: str, tmp_path: Path) -> Iterator[Settings]:
    """Settings on an empty store (SQLite or PostgreSQL) with artifacts in ``tmp_path``."""
    yield Settings(
        home=tmp_path / "home",
        store_uri=fast_store_url,
        artifact_uri=str(tmp_path / "artifacts"),
        user="tester",
        capture_environment=False,
        metric_flush_interval_s=3600.0,  # only size, end_run and flush() write: what the tests check
    )
    _close_sdk_state()


@pytest.fixture
def my(sdk_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """The fluent API (``import modelyard as my``) configured onto ``sdk_settings``; reset after."""
    import modelyard

    for name, value in (("_settings_overrides", {}), ("_client", None), ("_active", []), ("_last", None)):
        monkeypatch.setattr(fluent, name, value)
    monkeypatch.setattr(fluent, "_experiment_id", None)
    monkeypatch.setattr(fluent, "_uncaught", None)
    fluent.configure(**sdk_settings.model_dump())
    yield modelyard
    while fluent.active_run() is not None:
        fluent.end_run()
