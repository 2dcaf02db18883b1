"""Datasets and dataset versions: rows in, domain records out.

A version is inserted with ``ON CONFLICT DO NOTHING`` on ``(dataset_name, digest)``: whichever of
two concurrent writers of the same content comes first wins, the other finds its row.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import Connection, Row, func, select

from modelyard.domain.data import ColumnSchema, Dataset, DatasetProfile, DatasetVersion
from modelyard.store.repos._upsert import upsert
from modelyard.store.tables import dataset_versions, datasets


def ensure_dataset(conn: Connection, name: str, *, now_ms: int) -> None:
    """Create the dataset ``name`` unless it exists."""
    upsert(conn, datasets, [{"name": name, "created_at": now_ms}], keys=("name",), update=())


def insert_version(conn: Connection, version: DatasetVersion) -> None:
    """Store ``version``; a version with the same name and digest already stored is kept as is."""
    row = {
        "dataset_name": version.name,
        "digest": version.digest,
        "schema": json.dumps([c.to_dict() for c in version.columns]),
        "row_count": version.row_count,
        "size_bytes": version.size_bytes,
        "source_uri": version.source_uri,
        "storage_uri": version.storage_uri,
        "profile": json.dumps(version.profile.to_dict(), allow_nan=False),
        "created_at": version.created_at,
        "created_by": version.created_by,
    }
    upsert(conn, dataset_versions, [row], keys=("dataset_name", "digest"), update=())


def get_version(conn: Connection, name: str, digest: str) -> DatasetVersion | None:
    row = conn.execute(
        select(dataset_versions).where(dataset_versions.c.dataset_name == name, dataset_versions.c.digest == digest)
    ).first()
    return None if row is None else _version(row)


def find_versions(conn: Connection, name: str, digest_prefix: str) -> list[DatasetVersion]:
    """Versions of ``name`` whose digest starts with ``digest_prefix`` (hex, so no LIKE escaping)."""
    rows = conn.execute(
        select(dataset_versions)
        .where(dataset_versions.c.dataset_name == name, dataset_versions.c.digest.like(f"{digest_prefix}%"))
        .order_by(dataset_versions.c.digest)
        .limit(10)
    )
    return [_version(r) for r in rows]


def list_versions(conn: Connection, name: str) -> list[DatasetVersion]:
    """Versions of ``name``, newest first."""
    rows = conn.execute(
        select(dataset_versions)
        .where(dataset_versions.c.dataset_name == name)
        .order_by(dataset_versions.c.created_at.desc(), dataset_versions.c.digest)
    )
    return [_version(r) for r in rows]


def get_dataset(conn: Connection, name: str) -> Dataset | None:
    found = list_datasets(conn, names=[name])
    return found[0] if found else None


def list_datasets(conn: Connection, *, names: Sequence[str] | None = None) -> list[Dataset]:
    """Datasets by name, each with its version count and latest version."""
    counts = (
        select(
            dataset_versions.c.dataset_name.label("name"),
            func.count().label("version_count"),
            func.max(dataset_versions.c.created_at).label("latest_created_at"),
        )
        .group_by(dataset_versions.c.dataset_name)
        .subquery()
    )
    query = (
        select(datasets.c.name, datasets.c.created_at, counts.c.version_count, counts.c.latest_created_at)
        .select_from(datasets.outerjoin(counts, counts.c.name == datasets.c.name))
        .order_by(datasets.c.name)
    )
    if names is not None:
        query = query.where(datasets.c.name.in_(list(names)))
    out = []
    for row in conn.execute(query):
        latest = None
        if row.latest_created_at is not None:
            latest = conn.execute(
                select(dataset_versions.c.digest)
                .where(
                    dataset_versions.c.dataset_name == row.name,
                    dataset_versions.c.created_at == row.latest_created_at,
                )
                .order_by(dataset_versions.c.digest)
                .limit(1)
            ).scalar_one()
        out.append(
            Dataset(
                name=row.name,
                created_at=row.created_at,
                version_count=int(row.version_count or 0),
                latest_digest=latest,
                latest_created_at=row.latest_created_at,
            )
        )
    return out


def _version(row: Row) -> DatasetVersion:  # type: ignore[type-arg]
    return DatasetVersion(
        name=row.dataset_name,
        digest=row.digest,
        columns=tuple(ColumnSchema.from_dict(c) for c in json.loads(row.schema)),
        row_count=int(row.row_count),
        size_bytes=int(row.size_bytes),
        source_uri=row.source_uri,
        storage_uri=row.storage_uri,
        profile=DatasetProfile.from_dict(json.loads(row.profile)),
        created_at=int(row.created_at),
        created_by=row.created_by,
    )
