"""Deployments, their variants and their change events.

``deployments.revision`` grows by one with every change in the transaction that makes it, so a
server learns whether anything changed with one indexed read of ``(name, revision)`` pairs.
Events keep no foreign key to ``deployments``: the history of an undeployed deployment stays.
Variants name model versions by ``(model_name, version)`` without a foreign key either: the
deployments service checks the version exists, and the registry stays free to manage its rows.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, ForeignKey, Index, Integer, String, Table, Text

from modelyard.store.tables.base import metadata

deployments = Table(
    "deployments",
    metadata,
    Column("name", String(256), primary_key=True),
    Column("revision", Integer, nullable=False),
    Column("sticky_source", String(16), nullable=True),
    Column("sticky_name", String(256), nullable=True),
    Column("slo", Text, nullable=True),  # JSON of CanarySLO.to_dict()
    Column("previous_primary", Text, nullable=True),  # JSON of DeploymentVariant.to_dict()
    Column("batching", Text, nullable=True),  # JSON of BatchingSpec.to_dict(); NULL: one request per call
    Column("features", Text, nullable=True),  # JSON of FeatureLookup.to_dict(); NULL: requests carry every input
    Column("explain_sample", Float, nullable=True),  # share of answered requests explained in the log; NULL: none
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("created_by", String(256), nullable=False),
)

deployment_variants = Table(
    "deployment_variants",
    metadata,
    Column("deployment", String(256), ForeignKey("deployments.name"), primary_key=True),
    Column("name", String(256), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("model_name", String(256), nullable=False),
    Column("version", Integer, nullable=False),
    Column("mode", String(16), nullable=False),
    Column("weight", Float, nullable=False),
    Column("sample", Float, nullable=False),
)

deployment_events = Table(
    "deployment_events",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("deployment", String(256), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("actor", String(256), nullable=False),
    Column("time_ms", BigInteger, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("before", Text, nullable=True),  # JSON
    Column("after", Text, nullable=True),  # JSON
    Column("details", Text, nullable=False),  # JSON object
    Index("ix_deployment_events_deployment", "deployment", "id"),
)
