"""Pipeline schedules: rows in, domain records out, and the claim that keeps a firing single.

``claim`` is a compare-and-set on ``revision`` (``UPDATE ... WHERE revision = :seen``): of two
schedulers that read the same due schedule, only the one whose update matched a row fires it.
This holds on both engines without relying on isolation levels or row locks.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, Row, delete, select, update

from modelyard.domain.schedules import Schedule
from modelyard.store.repos.ids import resolve_prefix
from modelyard.store.tables.schedules import pipeline_schedules


def insert(conn: Connection, schedule: Schedule) -> None:
    conn.execute(
        pipeline_schedules.insert().values(
            schedule_id=schedule.schedule_id,
            target=schedule.target,
            params=json.dumps(schedule.params, sort_keys=True),
            executor=schedule.executor,
            cron=schedule.cron,
            on_dataset=schedule.on_dataset,
            dataset_param=schedule.dataset_param,
            next_fire_at=schedule.next_fire_at,
            last_dataset_digest=schedule.last_dataset_digest,
            last_dataset_at=schedule.last_dataset_at,
            last_fired_at=schedule.last_fired_at,
            last_run_id=schedule.last_run_id,
            last_error=schedule.last_error,
            revision=schedule.revision,
            created_at=schedule.created_at,
            created_by=schedule.created_by,
        )
    )


def get(conn: Connection, schedule_id: str) -> Schedule | None:
    row = conn.execute(select(pipeline_schedules).where(pipeline_schedules.c.schedule_id == schedule_id)).first()
    return None if row is None else _schedule(row)


def list_all(conn: Connection) -> list[Schedule]:
    """Every schedule, oldest first (the order a scheduler considers them in)."""
    rows = conn.execute(
        select(pipeline_schedules).order_by(pipeline_schedules.c.created_at, pipeline_schedules.c.schedule_id)
    )
    return [_schedule(r) for r in rows]


def resolve_id(conn: Connection, schedule_id_or_prefix: str) -> str:
    """A full schedule id from itself or a unique prefix of 4+ hex digits."""
    return resolve_prefix(conn, pipeline_schedules.c.schedule_id, schedule_id_or_prefix, "a schedule")


def remove(conn: Connection, schedule_id: str) -> bool:
    """Delete a schedule; whether there was one."""
    result = conn.execute(delete(pipeline_schedules).where(pipeline_schedules.c.schedule_id == schedule_id))
    return result.rowcount == 1


def claim(conn: Connection, schedule: Schedule, *, now_ms: int, **changes: Any) -> bool:
    """Take ``schedule`` for one firing if nobody has since it was read: set ``changes`` (the next
    fire time, the dataset version fired for), stamp ``last_fired_at`` and bump ``revision``."""
    allowed = {"next_fire_at", "last_dataset_digest", "last_dataset_at"}
    unknown = set(changes) - allowed
    assert not unknown, f"claim cannot change {sorted(unknown)}"
    result = conn.execute(
        update(pipeline_schedules)
        .where(
            pipeline_schedules.c.schedule_id == schedule.schedule_id,
            pipeline_schedules.c.revision == schedule.revision,
        )
        .values(revision=schedule.revision + 1, last_fired_at=now_ms, **changes)
    )
    return result.rowcount == 1


def record_outcome(conn: Connection, schedule_id: str, *, run_id: str | None, error: str | None) -> None:
    """What the last firing gave: the pipeline run it started and the error that stopped it, if any."""
    conn.execute(
        update(pipeline_schedules)
        .where(pipeline_schedules.c.schedule_id == schedule_id)
        .values(last_run_id=run_id, last_error=error)
    )


def _schedule(row: Row) -> Schedule:  # type: ignore[type-arg]
    return Schedule(
        schedule_id=row.schedule_id,
        target=row.target,
        params=json.loads(row.params),
        executor=row.executor,
        cron=row.cron,
        on_dataset=row.on_dataset,
        dataset_param=row.dataset_param,
        next_fire_at=row.next_fire_at,
        last_dataset_digest=row.last_dataset_digest,
        last_dataset_at=row.last_dataset_at,
        last_fired_at=row.last_fired_at,
        last_run_id=row.last_run_id,
        last_error=row.last_error,
        revision=row.revision,
        created_at=row.created_at,
        created_by=row.created_by,
    )
