"""Downsampling old runs' metric histories: each of ``buckets`` step ranges keeps exactly its
lowest, highest and last value (the logged rows, unchanged), short histories and recent or running
runs are untouched, the latest value stays, a dry run changes nothing, every reduction is audited
and the audit chain still verifies; on SQLite and PostgreSQL."""

from __future__ import annotations

import math
import random

import pytest

from modelyard.domain.tracking import Metric, RunStatus
from modelyard.errors import InvalidInput
from modelyard.governance import AuditService
from modelyard.tracking import MetricRetentionService
from tracking.conftest import Tracking

DAY_MS = 86_400_000
POINTS, BUCKETS = 3_000, 40


def _history(seed: int) -> list[Metric]:
    rng = random.Random(seed)
    points = [
        Metric(key="loss", value=rng.choice([rng.random(), 0.5]), timestamp=1 + i % 7, step=10 + i)
        for i in range(POINTS)
    ]
    points[100] = Metric(key="loss", value=math.nan, timestamp=1, step=110)
    return points


def _expected(points: list[Metric]) -> set[tuple[int, int, str]]:
    """What each range keeps: lowest (NaN never), highest, last (step, time, then logging order)."""
    low = min(p.step for p in points)
    width = max(p.step for p in points) - low + 1
    ranges: dict[int, list[tuple[int, Metric]]] = {}
    for order, p in enumerate(points):
        ranges.setdefault((p.step - low) * BUCKETS // width, []).append((order, p))
    kept: set[tuple[int, int, str]] = set()
    for members in ranges.values():
        valued = [(o, p) for o, p in members if not math.isnan(p.value)] or members
        kept |= {
            _point(min(valued, key=lambda m: (m[1].value, m[0]))[1]),
            _point(min(valued, key=lambda m: (-m[1].value, m[0]))[1]),
            _point(max(members, key=lambda m: (m[1].step, m[1].timestamp, m[0]))[1]),
        }
    return kept


def _point(m: Metric) -> tuple[int, int, str]:
    return (m.step, m.timestamp, repr(m.value))


def _run(tracking: Tracking, points: list[Metric], *, end: bool = True) -> str:
    run_id = tracking.new_run()
    for start in range(0, len(points), 1_000):
        tracking.metrics.log(run_id, points[start : start + 1_000])
    tracking.metrics.log(run_id, [Metric(key="acc", value=float(i), timestamp=1, step=i) for i in range(50)])
    if end:
        tracking.runs.end(run_id, RunStatus.FINISHED)
    return run_id


def test_old_histories_keep_the_lowest_highest_and_last_value_of_each_range(tracking: Tracking) -> None:
    points = _history(1)
    old = _run(tracking, points)
    running = _run(tracking, _history(2), end=False)
    tracking.clock.advance(40 * DAY_MS)
    recent = _run(tracking, _history(3))
    retention = MetricRetentionService(tracking.db, tracking.clock)
    latest_before = tracking.runs.get(old).data.metrics

    dry = retention.downsample(30 * DAY_MS, buckets=BUCKETS, dry_run=True)
    kept = _expected(points)
    assert dry.dry_run and dry.runs_reduced == [old] and dry.values_removed == POINTS - len(kept)
    assert len(tracking.metrics.history(old, "loss")) == POINTS  # a dry run removes nothing

    done = retention.downsample(30 * DAY_MS, buckets=BUCKETS)
    assert done.runs_examined == 1 and done.runs_reduced == [old] and done.values_removed == POINTS - len(kept)
    left = tracking.metrics.history(old, "loss")
    assert {_point(m) for m in left} == kept and len(left) == len(kept) <= 3 * BUCKETS
    assert [m.step for m in left] == sorted(m.step for m in left)
    assert len(tracking.metrics.history(old, "acc")) == 50  # shorter than 3 x buckets: untouched
    assert tracking.runs.get(old).data.metrics == latest_before
    for untouched in (running, recent):
        assert len(tracking.metrics.history(untouched, "loss")) == POINTS
    if tracking.db.dialect == "postgresql":
        assert done.bytes_reclaimed is not None and done.bytes_reclaimed > done.values_removed * 16

    again = retention.downsample(30 * DAY_MS, buckets=BUCKETS)
    assert again.values_removed == 0 and again.runs_reduced == []  # what is left is what it keeps
    audit = AuditService(tracking.db)
    (event,) = audit.search(action="run.metrics_downsampled")
    assert event.object_id == old and event.details == {"values_removed": done.values_removed, "buckets": BUCKETS}
    assert audit.verify().ok


def test_downsampling_refuses_too_few_ranges_and_a_negative_age(tracking: Tracking) -> None:
    retention = MetricRetentionService(tracking.db, tracking.clock)
    with pytest.raises(InvalidInput, match="at least 10"):
        retention.downsample(DAY_MS, buckets=3)
    with pytest.raises(InvalidInput, match="must not be negative"):
        retention.downsample(-1)
