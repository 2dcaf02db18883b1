"""Triggers: stored schedules that start a pipeline on a cron expression or a new dataset version.

A schedule is checked when it is added (the pipeline imports, its parameters resolve, the cron
expression parses), so a typo fails at ``schedule add``, not at three in the morning. Cron
expressions are read in UTC by ``croniter``. A dataset trigger fires for versions logged after the
schedule was added: the newest version at that moment is its starting point.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from croniter import croniter

from modelyard.clock import SYSTEM_CLOCK, Clock
from modelyard.domain.data import DatasetVersion
from modelyard.domain.schedules import Schedule
from modelyard.errors import InvalidInput, NotFound
from modelyard.ids import new_id
from modelyard.pipelines.definition import load_pipeline
from modelyard.pipelines.runner import EXECUTORS
from modelyard.sdk.client import Client
from modelyard.store.repos import datasets as dataset_rows
from modelyard.store.repos import schedules as schedule_rows

DEFAULT_DATASET_PARAM = "dataset"


def next_fire_after(cron: str, now_ms: int) -> int:
    """The first time (epoch ms) strictly after ``now_ms`` that ``cron`` names, in UTC."""
    start = datetime.fromtimestamp(now_ms / 1000, tz=UTC)
    following: datetime = croniter(cron, start).get_next(datetime)
    return int(following.timestamp() * 1000)


def latest_dataset_version(client: Client, name: str) -> DatasetVersion | None:
    """The newest version of dataset ``name``, or None when it has none yet."""
    with client.backend.db.read() as conn:
        versions = dataset_rows.list_versions(conn, name)
    return versions[0] if versions else None


def dataset_uri(version: DatasetVersion) -> str:
    """``datasets:/NAME@<digest>``: the parameter a dataset trigger passes to its pipeline."""
    return f"datasets:/{version.name}@{version.digest}"


def add_schedule(
    client: Client,
    target: str,
    *,
    cron: str | None = None,
    on_dataset: str | None = None,
    params: Mapping[str, Any] | None = None,
    dataset_param: str = DEFAULT_DATASET_PARAM,
    executor: str = "inprocess",
    clock: Clock = SYSTEM_CLOCK,
) -> Schedule:
    """Store a trigger of the pipeline ``target`` (``module:attribute``): exactly one of ``cron``
    and ``on_dataset``. A dataset trigger passes the new version's URI as parameter ``dataset_param``."""
    if (cron is None) == (on_dataset is None):
        raise InvalidInput("a schedule needs exactly one trigger: --cron EXPR or --on-dataset NAME")
    if executor not in EXECUTORS:
        raise InvalidInput(f"unknown executor {executor!r}; choose one of {', '.join(EXECUTORS)}")
    given = dict(params or {})
    pipeline = load_pipeline(target)
    now = clock.now_ms()
    if cron is not None:
        cron = " ".join(cron.split())
        if not croniter.is_valid(cron):
            raise InvalidInput(f"not a cron expression: {cron!r} (e.g. '*/5 * * * *': every five minutes)")
        pipeline.resolve_params(given)
        schedule = Schedule(
            schedule_id=new_id(),
            target=target,
            params=given,
            executor=executor,
            cron=cron,
            next_fire_at=next_fire_after(cron, now),
            created_at=now,
            created_by=client.settings.user,
        )
    else:
        assert on_dataset is not None
        if not on_dataset.strip():
            raise InvalidInput("--on-dataset needs a dataset name")
        if dataset_param in given:
            raise InvalidInput(f"parameter {dataset_param!r} is set by the dataset trigger; do not pass it")
        pipeline.resolve_params({**given, dataset_param: f"datasets:/{on_dataset}@0000"})
        baseline = latest_dataset_version(client, on_dataset)
        schedule = Schedule(
            schedule_id=new_id(),
            target=target,
            params=given,
            executor=executor,
            on_dataset=on_dataset,
            dataset_param=dataset_param,
            last_dataset_digest=baseline.digest if baseline else None,
            last_dataset_at=baseline.created_at if baseline else None,
            created_at=now,
            created_by=client.settings.user,
        )
    with client.backend.db.begin() as conn:
        schedule_rows.insert(conn, schedule)
    return schedule


def list_schedules(client: Client) -> list[Schedule]:
    """Every stored schedule, oldest first."""
    with client.backend.db.read() as conn:
        return schedule_rows.list_all(conn)


def get_schedule(client: Client, schedule_id: str) -> Schedule:
    with client.backend.db.read() as conn:
        found = schedule_rows.get(conn, schedule_id)
    if found is None:
        raise NotFound(f"no schedule with id {schedule_id!r}")
    return found


def remove_schedule(client: Client, schedule_id: str) -> None:
    """Delete a schedule; a run it already started goes on."""
    with client.backend.db.begin() as conn:
        removed = schedule_rows.remove(conn, schedule_rows.resolve_id(conn, schedule_id))
    if not removed:
        raise NotFound(f"no schedule with id {schedule_id!r}")
