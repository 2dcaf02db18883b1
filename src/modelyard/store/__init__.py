"""Persistence: SQLAlchemy tables, repositories and Alembic migrations, and the artifact store.

Rows never leave this package: repositories take and return ``modelyard.domain`` records.
"""

from modelyard.store.artifacts import ArtifactStore as ArtifactStore
from modelyard.store.db import Database as Database
from modelyard.store.migration import ensure_schema as ensure_schema
from modelyard.store.migration import upgrade as upgrade

__all__ = ["ArtifactStore", "Database", "ensure_schema", "upgrade"]
