"""Lineage edges: one row per directed edge between two nodes of any kind.

The graph is walked from either end, so both endpoints are indexed. The unique key makes
recording an edge idempotent: a retried write or a re-registered model adds nothing twice.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text, UniqueConstraint

from modelyard.store.tables.base import metadata

lineage_edges = Table(
    "lineage_edges",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("source_kind", String(32), nullable=False),
    Column("source_id", String(256), nullable=False),
    Column("target_kind", String(32), nullable=False),
    Column("target_id", String(256), nullable=False),
    Column("relation", String(32), nullable=False),
    Column("properties", Text, nullable=False),  # JSON object
    Column("created_at", BigInteger, nullable=False),
    UniqueConstraint("source_kind", "source_id", "target_kind", "target_id", "relation", name="uq_lineage_edges_edge"),
    Index("ix_lineage_edges_target", "target_kind", "target_id"),
)
