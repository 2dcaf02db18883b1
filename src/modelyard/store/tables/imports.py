"""What was imported from another tracking system: source id -> modelyard id, per kind.

Importing the same store twice looks every experiment, run, model and version up here first, so
a second import adds nothing and a partial one resumes where it stopped.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, String, Table

from modelyard.store.tables.base import metadata

import_mappings = Table(
    "import_mappings",
    metadata,
    Column("source", String(512), primary_key=True),  # e.g. mlflow:sqlite:////path/mlflow.db
    Column("kind", String(32), primary_key=True),  # experiment, run, logged_model, model_version, ...
    Column("source_id", String(512), primary_key=True),
    Column("target_id", String(512), nullable=False),
    Column("created_time", BigInteger, nullable=False),
    Index("ix_import_mappings_kind_target", "kind", "target_id"),  # a purged run's mappings go with it
)
