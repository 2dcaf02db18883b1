"""Tracking tables: experiments, runs, params, tags, metrics (full history and latest value).

``latest_metrics`` holds one row per (run, key): search filters and sorts on metrics hit it, not
the history, which is what keeps a search over 100,000 runs fast. A NaN value is stored as NULL
(SQLite cannot store NaN); infinities are stored as they are.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from modelyard.store.tables.base import metadata

experiments = Table(
    "experiments",
    metadata,
    Column("experiment_id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(256), nullable=False, unique=True),
    Column("artifact_location", Text, nullable=False),
    Column("lifecycle_stage", String(16), nullable=False),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_update_time", BigInteger, nullable=False),
)

experiment_tags = Table(
    "experiment_tags",
    metadata,
    Column("experiment_id", Integer, ForeignKey("experiments.experiment_id"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
)

environments = Table(
    "environments",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("python_version", String(64), nullable=False),
    Column("platform", String(256), nullable=False),
    Column("packages", Text, nullable=False),  # JSON object: distribution name -> version
)

runs = Table(
    "runs",
    metadata,
    Column("run_id", String(32), primary_key=True),
    Column("experiment_id", Integer, ForeignKey("experiments.experiment_id"), nullable=False),
    Column("run_name", String(250), nullable=False),
    Column("user", String(256), nullable=False),
    Column("status", String(16), nullable=False),
    Column("start_time", BigInteger, nullable=False),
    Column("end_time", BigInteger, nullable=True),
    Column("heartbeat_time", BigInteger, nullable=True),
    Column("lifecycle_stage", String(16), nullable=False),
    Column("artifact_uri", Text, nullable=False),
    Column("parent_run_id", String(32), ForeignKey("runs.run_id"), nullable=True),
    Column("source_name", Text, nullable=True),
    Column("source_git_commit", String(64), nullable=True),
    Column("source_git_dirty", Boolean, nullable=True),
    Column("environment_digest", String(64), ForeignKey("environments.digest"), nullable=True),
    Column("deleted_time", BigInteger, nullable=True),  # set by delete, cleared by restore (purge's age)
    Index("ix_runs_experiment_stage_start", "experiment_id", "lifecycle_stage", "start_time"),
    Index("ix_runs_status_heartbeat", "status", "heartbeat_time"),
    Index("ix_runs_parent_run_id", "parent_run_id"),
    Index("ix_runs_start_time", "start_time"),  # newest-first pages over several experiments
)

params = Table(
    "params",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.run_id"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", String(6000), nullable=False),
)

tags = Table(
    "tags",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.run_id"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", String(8000), nullable=False),
)

metrics = Table(
    "metrics",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("run_id", String(32), ForeignKey("runs.run_id"), nullable=False),
    Column("key", String(250), nullable=False),
    Column("value", Double, nullable=True),
    Column("timestamp", BigInteger, nullable=False),
    Column("step", BigInteger, nullable=False),
    # The whole order a history is read in, and its value: an index-only scan, no sort.
    Index("ix_metrics_history", "run_id", "key", "step", "timestamp", "id", postgresql_include=["value"]),
)

latest_metrics = Table(
    "latest_metrics",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.run_id"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Double, nullable=True),
    Column("timestamp", BigInteger, nullable=False),
    Column("step", BigInteger, nullable=False),
    Index("ix_latest_metrics_key_value_run", "key", "value", "run_id"),
)
