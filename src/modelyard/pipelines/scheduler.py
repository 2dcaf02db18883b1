"""The scheduler: starts the pipelines whose schedule is due, once per firing, however many run.

Each ``tick`` reads every schedule, and for each due one first *claims* it (a compare-and-set in
its own transaction, see ``store.repos.schedules.claim``) and only then runs its pipeline, in this
process, to the end. A second scheduler that read the same schedule loses the claim and skips it,
so two schedulers (for availability) never start a firing twice.

- A cron schedule is due when its ``next_fire_at`` has passed. The claim moves it to the first
  time after *now*: firings missed while no scheduler ran are coalesced into one, not replayed.
- A dataset schedule is due when the dataset's newest version is not the one it last fired for
  (and not older). Versions logged between two ticks are coalesced: the run gets the newest.

A pipeline that fails, or a schedule whose pipeline no longer imports, is recorded on the
schedule (``last_run_id``, ``last_error``) and does not stop the scheduler.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from modelyard.clock import SYSTEM_CLOCK, Clock
from modelyard.domain.schedules import Schedule
from modelyard.errors import ModelyardError
from modelyard.pipelines.definition import load_pipeline
from modelyard.pipelines.runner import run_pipeline
from modelyard.pipelines.triggers import dataset_uri, latest_dataset_version, next_fire_after
from modelyard.sdk.client import Client
from modelyard.store.repos import schedules as schedule_rows

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class Firing:
    """One schedule this scheduler fired in a tick: why, the run it started, and how that ended."""

    schedule_id: str
    target: str
    reason: str
    params: dict[str, Any]
    run_id: str | None
    succeeded: bool
    error: str | None = None


class Scheduler:
    """Fires due schedules; ``clock`` is injectable so tests can move time instead of waiting."""

    def __init__(self, client: Client, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self.client = client
        self.clock = clock

    def tick(self) -> list[Firing]:
        """Fire every schedule due now (that no other scheduler claimed first); what was fired."""
        with self.client.backend.db.read() as conn:
            schedules = schedule_rows.list_all(conn)
        fired = []
        for schedule in schedules:
            claimed = self.claim_if_due(schedule)
            if claimed is not None:
                reason, params = claimed
                fired.append(self._fire(schedule, reason, params))
        return fired

    def claim_if_due(self, schedule: Schedule) -> tuple[str, dict[str, Any]] | None:
        """Claim ``schedule`` (as read, possibly by now stale) if it is due: the reason and the
        parameters to run it with, or None when it is not due or another scheduler claimed it."""
        now = self.clock.now_ms()
        params = dict(schedule.params)
        if schedule.cron is not None:
            if schedule.next_fire_at is None or schedule.next_fire_at > now:
                return None
            changes: dict[str, Any] = {"next_fire_at": next_fire_after(schedule.cron, now)}
            reason = f"cron {schedule.cron}"
        else:
            assert schedule.on_dataset is not None and schedule.dataset_param is not None
            newest = latest_dataset_version(self.client, schedule.on_dataset)
            if newest is None or newest.digest == schedule.last_dataset_digest:
                return None
            if schedule.last_dataset_at is not None and newest.created_at < schedule.last_dataset_at:
                return None
            changes = {"last_dataset_digest": newest.digest, "last_dataset_at": newest.created_at}
            params[schedule.dataset_param] = dataset_uri(newest)
            reason = f"new version {newest.digest[:12]} of dataset {schedule.on_dataset}"
        with self.client.backend.db.begin() as conn:
            if not schedule_rows.claim(conn, schedule, now_ms=now, **changes):
                return None
        return reason, params

    def _fire(self, schedule: Schedule, reason: str, params: dict[str, Any]) -> Firing:
        log.info("schedule %s: %s -> running %s", schedule.schedule_id, reason, schedule.target)
        run_id: str | None = None
        error: str | None = None
        succeeded = False
        try:
            pipeline = load_pipeline(schedule.target)
            result = run_pipeline(pipeline, params, client=self.client, executor=schedule.executor)
            run_id = result.run.run_id
            succeeded = result.succeeded
            if not succeeded:
                failed = [s for s in result.steps if s.error]
                error = f"step {failed[0].step_id!r} failed" if failed else "the pipeline failed"
        except ModelyardError as exc:
            error = exc.message
        except Exception as exc:  # the user's pipeline function raised while being traced
            error = f"{type(exc).__name__}: {exc}"
        if error is not None:
            log.warning("schedule %s: %s", schedule.schedule_id, error)
        with self.client.backend.db.begin() as conn:
            schedule_rows.record_outcome(conn, schedule.schedule_id, run_id=run_id, error=error)
        return Firing(
            schedule_id=schedule.schedule_id,
            target=schedule.target,
            reason=reason,
            params=params,
            run_id=run_id,
            succeeded=succeeded,
            error=error,
        )

    def run_forever(
        self,
        *,
        interval_s: float = 30.0,
        on_tick: Callable[[list[Firing]], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Tick every ``interval_s`` seconds until interrupted."""
        while True:
            fired = self.tick()
            if on_tick is not None:
                on_tick(fired)
            sleep(interval_s)
