"""Pipeline schedules: cron and dataset-version triggers the scheduler fires.

``revision`` is the compare-and-set counter a scheduler's claim bumps; params are JSON text.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, String, Table, Text

from modelyard.store.tables.base import metadata

pipeline_schedules = Table(
    "pipeline_schedules",
    metadata,
    Column("schedule_id", String(32), primary_key=True),
    Column("target", Text, nullable=False),
    Column("params", Text, nullable=False),
    Column("executor", String(32), nullable=False),
    Column("cron", String(256), nullable=True),
    Column("on_dataset", String(256), nullable=True),
    Column("dataset_param", String(256), nullable=True),
    Column("next_fire_at", BigInteger, nullable=True),
    Column("last_dataset_digest", String(128), nullable=True),
    Column("last_dataset_at", BigInteger, nullable=True),
    Column("last_fired_at", BigInteger, nullable=True),
    Column("last_run_id", String(32), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("revision", Integer, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("created_by", String(256), nullable=False),
)
