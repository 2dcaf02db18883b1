"""Pipeline runs, their step runs and the step cache.

``pipeline_runs.run_id`` is the id of the tracking run that parents the step runs; the step runs'
own tracking runs are referenced by ``pipeline_step_runs.run_id``. Params and upstream lists are
JSON text, read only as a whole. A cache entry is keyed by its hash alone: two pipelines whose
steps have the same code, parameters and inputs share outputs, as Prefect's input+source key does.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Index, Integer, String, Table, Text

from modelyard.store.tables.base import metadata

pipeline_runs = Table(
    "pipeline_runs",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.run_id"), primary_key=True),
    Column("pipeline", String(256), nullable=False),
    Column("target", Text, nullable=False),
    Column("params", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("executor", String(32), nullable=False),
    Column("use_cache", Boolean, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("ended_at", BigInteger, nullable=True),
    Column("resumed_from", String(32), nullable=True),
    Index("ix_pipeline_runs_pipeline", "pipeline", "created_at"),
)

pipeline_step_runs = Table(
    "pipeline_step_runs",
    metadata,
    Column("pipeline_run_id", String(32), ForeignKey("pipeline_runs.run_id"), primary_key=True),
    Column("step_id", String(256), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("run_id", String(32), nullable=True),
    Column("cache_key", String(64), nullable=True),
    Column("output_kind", String(32), nullable=True),
    Column("output_location", Text, nullable=True),
    Column("output_digest", String(128), nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("error", Text, nullable=True),
    Column("started_at", BigInteger, nullable=True),
    Column("ended_at", BigInteger, nullable=True),
    Column("upstream", Text, nullable=False),
    Index("ix_pipeline_step_runs_run_id", "run_id"),  # what refers to a run, asked before purging it
)

pipeline_cache_entries = Table(
    "pipeline_cache_entries",
    metadata,
    Column("cache_key", String(64), primary_key=True),
    Column("pipeline", String(256), nullable=False),
    Column("step_id", String(256), nullable=False),
    Column("run_id", String(32), nullable=False),
    Column("output_kind", String(32), nullable=False),
    Column("output_location", Text, nullable=False),
    Column("output_digest", String(128), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Index("ix_pipeline_cache_entries_run_id", "run_id"),
)
