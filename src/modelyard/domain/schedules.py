"""Pipeline schedules: what makes the scheduler start a pipeline without anyone typing a command.

A schedule fires on a cron expression (``next_fire_at``, epoch ms, UTC) or on a new version of a
dataset (``on_dataset``; the newest version it has fired for is ``last_dataset_digest``).
``revision`` grows by one each time a scheduler claims the schedule: a claim is a compare-and-set
on it, so two schedulers looking at the same due schedule start its pipeline once.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class TriggerKind(enum.StrEnum):
    CRON = "cron"
    DATASET = "dataset"


@dataclass(frozen=True, kw_only=True)
class Schedule:
    """A stored trigger of one pipeline (``target`` is ``module:attribute``) with its parameters."""

    schedule_id: str
    target: str
    params: dict[str, Any] = field(default_factory=dict)
    executor: str = "inprocess"
    cron: str | None = None
    on_dataset: str | None = None
    dataset_param: str | None = None
    next_fire_at: int | None = None
    last_dataset_digest: str | None = None
    last_dataset_at: int | None = None
    last_fired_at: int | None = None
    last_run_id: str | None = None
    last_error: str | None = None
    revision: int = 0
    created_at: int
    created_by: str

    @property
    def kind(self) -> TriggerKind:
        return TriggerKind.CRON if self.cron is not None else TriggerKind.DATASET

    @property
    def trigger(self) -> str:
        """The trigger as a user wrote it: ``cron */5 * * * *`` or ``dataset churn-train``."""
        return f"cron {self.cron}" if self.cron is not None else f"dataset {self.on_dataset}"
