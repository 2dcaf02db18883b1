"""Retention of old runs' metric histories: downsampling, with the storage it frees reported.

``downsample`` reduces each metric history of the runs that ended before a cutoff to the lowest,
highest and last value of each of ``buckets`` step ranges (``store.repos.metric_retention``), one
run per transaction, each audited (``run.metrics_downsampled``: values removed, ranges). It needs
``track`` on each run's experiment, as logging does. A dry run counts without removing. The
storage reported is the rows removed times the history's bytes per row (table and index) as the
engine measures it: the space the engine can reuse; files shrink only after ``VACUUM``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from modelyard.clock import SYSTEM_CLOCK, Clock
from modelyard.domain.governance import Permission, Scope
from modelyard.errors import InvalidInput
from modelyard.governance import ActorProvider, actor_provider, audit_append, guarded, require
from modelyard.store.db import Database
from modelyard.store.repos import metric_retention as retention_rows
from modelyard.store.repos import runs as run_rows

DEFAULT_BUCKETS = 1_000
MIN_BUCKETS = 10


@dataclass(frozen=True, kw_only=True)
class DownsampleReport:
    """What downsampling removed (or, dry, would remove)."""

    runs_examined: int
    runs_reduced: list[str] = field(default_factory=list)
    values_removed: int = 0
    bytes_per_value: float | None = None
    dry_run: bool = False

    @property
    def bytes_reclaimed(self) -> int | None:
        """Estimated storage freed for reuse (``None`` when the engine cannot tell its row size)."""
        return None if self.bytes_per_value is None else round(self.values_removed * self.bytes_per_value)


class MetricRetentionService:
    """Downsample the metric histories of runs that ended long ago."""

    def __init__(self, db: Database, clock: Clock = SYSTEM_CLOCK, *, actor: ActorProvider | str | None = None) -> None:
        self._db = db
        self._clock = clock
        self._actor = actor_provider(actor)

    def downsample(
        self, older_than_ms: int, *, buckets: int = DEFAULT_BUCKETS, dry_run: bool = False
    ) -> DownsampleReport:
        """Downsample every run that ended more than ``older_than_ms`` ago to ``buckets`` ranges per
        metric (lowest, highest and last value of each: at most ``3 x buckets`` values stay)."""
        if older_than_ms < 0:
            raise InvalidInput(f"--older-than must not be negative, got {older_than_ms} ms")
        if buckets < MIN_BUCKETS:
            raise InvalidInput(f"buckets must be at least {MIN_BUCKETS}, got {buckets}")
        cutoff = self._clock.now_ms() - older_than_ms
        with self._db.read() as conn:
            candidates = retention_rows.ended_before(conn, cutoff)
            per_row = retention_rows.bytes_per_row(conn)
        reduced: list[str] = []
        removed = 0
        for run_id in candidates:
            with guarded(self._db, self._clock) as conn:
                info = run_rows.get_info(conn, run_id)
                if info is None:
                    continue
                require(conn, self._actor(), Permission.TRACK, Scope.experiment(info.experiment_id),
                        now_ms=self._clock.now_ms())  # fmt: skip
                if dry_run:
                    count = retention_rows.count_dropped(conn, run_id, buckets)
                else:
                    count = retention_rows.drop(conn, run_id, buckets)
                    if count:
                        audit_append(
                            conn, self._actor(), "run.metrics_downsampled", "run", run_id,
                            {"values_removed": count, "buckets": buckets}, now_ms=self._clock.now_ms(),
                        )  # fmt: skip
            if count:
                reduced.append(run_id)
                removed += count
        return DownsampleReport(
            runs_examined=len(candidates), runs_reduced=reduced, values_removed=removed,
            bytes_per_value=per_row, dry_run=dry_run,
        )  # fmt: skip
