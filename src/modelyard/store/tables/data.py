"""Datasets, their content-addressed versions and the runs that used them.

A version's key is ``(dataset_name, digest)``: the same content logged twice under one name is one
row (the second insert does nothing), which is what makes concurrent logging from several
processes yield a single version. Schema and profile are JSON text, read only as a whole.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Table,
    Text,
)

from modelyard.store.tables.base import metadata

datasets = Table(
    "datasets",
    metadata,
    Column("name", String(256), primary_key=True),
    Column("created_at", BigInteger, nullable=False),
)

dataset_versions = Table(
    "dataset_versions",
    metadata,
    Column("dataset_name", String(256), ForeignKey("datasets.name"), primary_key=True),
    Column("digest", String(64), primary_key=True),
    Column("schema", Text, nullable=False),  # JSON list of {name, type, nullable}
    Column("row_count", BigInteger, nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("source_uri", Text, nullable=True),
    Column("storage_uri", Text, nullable=False),
    Column("profile", Text, nullable=False),  # JSON, DatasetProfile.to_dict()
    Column("created_at", BigInteger, nullable=False),
    Column("created_by", String(256), nullable=False),
)

run_inputs = Table(
    "run_inputs",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.run_id"), primary_key=True),
    Column("dataset_name", String(256), primary_key=True),
    Column("digest", String(64), primary_key=True),
    Column("role", String(16), primary_key=True),
    Column("created_at", BigInteger, nullable=False),
    ForeignKeyConstraint(
        ["dataset_name", "digest"],
        ["dataset_versions.dataset_name", "dataset_versions.digest"],
        name="fk_run_inputs_dataset_name_dataset_versions",
    ),
    Index("ix_run_inputs_version", "dataset_name", "digest"),
)
