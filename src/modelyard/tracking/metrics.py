"""Metrics: validation at the call site, batched writes, full history."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from modelyard.clock import SYSTEM_CLOCK, Clock
from modelyard.domain.tracking import LifecycleStage, Metric
from modelyard.errors import Conflict, NotFound
from modelyard.store.db import Database
from modelyard.store.repos import metrics as metric_rows
from modelyard.store.repos import runs as run_rows
from modelyard.tracking.validation import validate_key, validate_metric_value, validate_step, validate_timestamp


def make_metric(key: str, value: Any, *, step: Any = 0, timestamp: Any = None, clock: Clock = SYSTEM_CLOCK) -> Metric:
    """A validated ``Metric``; called where the user logs it, so a bad value fails there and then,
    not later in a background flush."""
    validate_key("metric", key)
    return Metric(
        key=key,
        value=validate_metric_value(key, value),
        step=validate_step(key, step if step is not None else 0),
        timestamp=clock.now_ms() if timestamp is None else validate_timestamp(key, timestamp),
    )


class MetricService:
    """Store batches of metrics and read their history."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def log(self, run_id: str, batch: Sequence[Metric]) -> None:
        """Store a batch in one transaction (history and latest values together)."""
        if not batch:
            return
        with self._db.begin() as conn:
            info = run_rows.get_info(conn, run_id)
            if info is None:
                raise NotFound(f"no run with id {run_id!r}")
            if info.lifecycle_stage is LifecycleStage.DELETED:
                raise Conflict(f"run {run_id} is deleted; restore it before logging to it")
            metric_rows.insert(conn, run_id, batch)

    def history(self, run_id: str, key: str) -> list[Metric]:
        with self._db.read() as conn:
            if run_rows.get_info(conn, run_id) is None:
                raise NotFound(f"no run with id {run_id!r}")
            return metric_rows.history(conn, run_id, key)
