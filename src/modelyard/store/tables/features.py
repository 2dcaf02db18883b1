"""Feature definitions (entities, feature views, on-demand views), every version of each, and
the online store's materialization watermarks.

``feature_definitions`` holds each definition's full history: ``(kind, name, version)`` is the key
and a removal is one more version with ``removed`` set, so what was applied when is never lost.
``feature_watermarks`` remembers, per feature view, up to when ``materialize-incremental`` loaded.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Integer, String, Table, Text

from modelyard.store.tables.base import metadata

feature_definitions = Table(
    "feature_definitions",
    metadata,
    Column("kind", String(32), primary_key=True),
    Column("name", String(128), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("digest", String(64), nullable=False),
    Column("spec", Text, nullable=False),  # JSON of the definition's to_spec()
    Column("removed", Boolean, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("created_by", String(256), nullable=False),
)

feature_watermarks = Table(
    "feature_watermarks",
    metadata,
    Column("view", String(128), primary_key=True),
    Column("watermark_ms", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)
