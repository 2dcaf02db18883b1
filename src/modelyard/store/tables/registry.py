"""Registry tables: logged models, registered models (with their version counter), versions,
tags and aliases.

``registered_models.next_version`` is the counter that hands out version numbers: it is bumped
by an UPDATE in the transaction that inserts the version, so concurrent registrations of one name
queue on that row and get distinct, increasing numbers that are never handed out twice (deleting
version 3 does not let a later registration become 3 again).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from modelyard.store.tables.base import metadata

logged_models = Table(
    "logged_models",
    metadata,
    Column("model_id", String(64), primary_key=True),
    Column("run_id", String(32), ForeignKey("runs.run_id"), nullable=False),
    Column("artifact_path", String(512), nullable=False),
    Column("storage_uri", Text, nullable=False),
    Column("flavor", String(64), nullable=False),
    Column("digest", String(80), nullable=False),
    Column("signature", Text, nullable=True),  # JSON of ModelSignature.to_dict()
    Column("created_time", BigInteger, nullable=False),
    UniqueConstraint("run_id", "artifact_path", name="uq_logged_models_run_path"),
)

registered_models = Table(
    "registered_models",
    metadata,
    Column("name", String(256), primary_key=True),
    Column("description", Text, nullable=False),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_updated_time", BigInteger, nullable=False),
    Column("next_version", Integer, nullable=False),
)

registered_model_tags = Table(
    "registered_model_tags",
    metadata,
    Column("name", String(256), ForeignKey("registered_models.name"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("name", String(256), ForeignKey("registered_models.name"), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("model_id", String(64), ForeignKey("logged_models.model_id"), nullable=False),
    Column("source", Text, nullable=False),
    Column("stage", String(16), nullable=False),
    Column("description", Text, nullable=False),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_updated_time", BigInteger, nullable=False),
    Index("ix_model_versions_name_stage", "name", "stage"),
    Index("ix_model_versions_model_id", "model_id"),
)

model_version_tags = Table(
    "model_version_tags",
    metadata,
    Column("name", String(256), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
    ForeignKeyConstraint(["name", "version"], ["model_versions.name", "model_versions.version"]),
)

model_aliases = Table(
    "model_aliases",
    metadata,
    Column("name", String(256), primary_key=True),
    Column("alias", String(256), primary_key=True),
    Column("version", Integer, nullable=False),
    ForeignKeyConstraint(["name", "version"], ["model_versions.name", "model_versions.version"]),
)
