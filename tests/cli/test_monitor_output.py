"""``monitor run`` output: a hint when no window closed, the newest windows and a summary when many did."""

from __future__ import annotations

import pytest

from modelyard.cli.monitor import LATEST_WINDOWS, _show, _waiting
from modelyard.domain.monitoring import MonitorResult
from modelyard.monitoring.monitors import OpenWindow

HOUR_MS = 3_600_000
T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC


def _result(index: int, drifted: bool) -> MonitorResult:
    return MonitorResult(
        monitor="m", deployment="d", start_ms=T0 + index * HOUR_MS, end_ms=T0 + (index + 1) * HOUR_MS, rows=10,
        metrics={"rows": 10.0, "dataset_drifted": float(drifted)}, drift={}, distributions={}, sampled=False,
        sample_rows=10, created_ms=0,
    )  # fmt: skip


def test_no_window_closed_says_what_it_waits_for() -> None:
    assert "has logged no request" in _waiting(OpenWindow(start_ms=None), "churn-api")
    time_window = _waiting(OpenWindow(start_ms=T0, end_ms=T0 + HOUR_MS, rows=42), "churn-api")
    assert "closes at 2026-01-01 01:00:00" in time_window and "42 row(s) so far" in time_window
    assert "about 120 of the 400 rows" in _waiting(OpenWindow(start_ms=T0, rows=120, every_rows=400), "churn-api")


def test_many_windows_show_the_newest_and_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    found = [_result(i, drifted=i % 4 == 0) for i in range(400)]
    _show(found, False, latest=LATEST_WINDOWS, name="m")
    out = capsys.readouterr().out
    assert f"the newest {LATEST_WINDOWS} of 400 windows" in out
    assert "400 windows, 4000 rows, 100 with dataset drift" in out and "monitor results m --limit N" in out
    assert len(out.splitlines()) < 40 and "1970" not in out
