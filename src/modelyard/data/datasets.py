"""Dataset versions: log (content-addressed, profiled, stored as Parquet), find, load, diff.

Rules kept here, whatever interface calls:
- a version is ``<name>@<digest>`` (``modelyard.data.digests``): the same content logged again
  under the same name is the same version, including from two processes at once (the Parquet file
  is written with the same bytes, the row is inserted once);
- the Parquet file is written before the row, so a stored version always has its content;
- a version logged for a run is recorded as a run input (with its role) and as a lineage edge
  ``dataset_version -> run`` in the same transaction; nothing is logged to a deleted run;
- a load checks the bytes against the digest, so a damaged or swapped file is never returned.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import TypeAlias

import pandas as pd
import pyarrow as pa
from sqlalchemy import Connection

from modelyard.clock import SYSTEM_CLOCK, Clock
from modelyard.data.diff import DatasetDiff, diff_versions
from modelyard.data.digests import canonicalize, parquet_to_frame, parquet_to_table, read_source
from modelyard.data.profiles import numeric_values, profile_table, schema_of
from modelyard.domain.data import Dataset, DatasetRole, DatasetVersion, NumericColumnProfile, RunInput
from modelyard.domain.governance import Permission
from modelyard.domain.lineage import NodeKind, NodeRef, Relation
from modelyard.domain.tracking import LifecycleStage
from modelyard.errors import Conflict, InvalidInput, ModelyardError, NotFound
from modelyard.governance import ActorProvider, actor_provider, audit_append, guarded, require
from modelyard.names import URI_NAME, check_name
from modelyard.store.artifacts import ArtifactStore
from modelyard.store.db import Database
from modelyard.store.repos import datasets as dataset_rows
from modelyard.store.repos import lineage as lineage_rows
from modelyard.store.repos import run_inputs as input_rows
from modelyard.store.repos import runs as run_rows
from modelyard.uris import parse_dataset_uri

DATA_FILE = "data.parquet"
MAX_NAME_LENGTH = 256

DatasetInput: TypeAlias = pd.DataFrame | pa.Table | str | os.PathLike[str]


def validate_dataset_name(name: str) -> str:
    """A name every ``datasets:/`` URI can spell: letters, digits, ``_ . -``, not starting with a sign."""
    return check_name(
        "dataset name",
        name,
        max_length=MAX_NAME_LENGTH,
        pattern=URI_NAME,
        allowed=f"use up to {MAX_NAME_LENGTH} letters, digits, '_', '.' or '-', starting with a letter or digit",
    )


def parse_role(role: DatasetRole | str) -> DatasetRole:
    try:
        return DatasetRole(role)
    except ValueError:
        raise InvalidInput(
            f"invalid dataset role {role!r}; expected one of {', '.join(r.value for r in DatasetRole)}"
        ) from None


class DatasetService:
    """Content-addressed dataset versions over the metadata store and the artifact store."""

    def __init__(
        self,
        db: Database,
        store: ArtifactStore,
        clock: Clock = SYSTEM_CLOCK,
        *,
        actor: ActorProvider | str | None = None,
    ) -> None:
        self._db = db
        self._store = store
        self._clock = clock
        self._actor = actor_provider(actor)

    # -- writes --------------------------------------------------------------------------------

    def log(
        self,
        data: DatasetInput,
        name: str,
        *,
        role: DatasetRole | str = DatasetRole.TRAIN,
        source: str | None = None,
        run_id: str | None = None,
        user: str = "unknown",
    ) -> DatasetVersion:
        """Store ``data`` as a version of ``name`` (or find the stored one) and, with ``run_id``,
        record it as that run's input in ``role``. A path is read first and kept as ``source``."""
        validate_dataset_name(name)
        role = parse_role(role)
        if isinstance(data, str | os.PathLike):
            path = Path(data).expanduser().absolute()
            frame: pd.DataFrame | pa.Table = read_source(path)
            source = source or str(path)
        else:
            frame = data
        canonical = canonicalize(frame)
        digest = canonical.digest
        with self._db.read() as conn:
            version = dataset_rows.get_version(conn, name, digest)
        if version is None:
            folder = f"{self._store.root_uri}/datasets/{name}/{digest}"
            self._store.put_bytes(folder, DATA_FILE, canonical.parquet)
            version = DatasetVersion(
                name=name,
                digest=digest,
                columns=schema_of(canonical.table),
                row_count=canonical.table.num_rows,
                size_bytes=len(canonical.parquet),
                source_uri=source,
                storage_uri=folder,
                profile=profile_table(canonical.table),
                created_at=self._clock.now_ms(),
                created_by=user,
            )
        now = self._clock.now_ms()
        with guarded(self._db, self._clock) as conn:
            require(conn, self._actor(), Permission.TRACK, now_ms=now)
            dataset_rows.ensure_dataset(conn, name, now_ms=now)
            dataset_rows.insert_version(conn, version)
            stored = dataset_rows.get_version(conn, name, digest)
            assert stored is not None  # inserted above or by a concurrent writer, in a committed row
            details = {"rows": stored.row_count, "run_id": run_id, "role": role.value if run_id else None}
            audit_append(
                conn, self._actor(), "dataset_version.logged", "dataset_version", stored.uri, details, now_ms=now
            )
            if run_id is not None:
                self._add_input(conn, stored, run_id, role, now)
        return stored

    def add_input(
        self, uri: str, run_id: str, role: DatasetRole | str = DatasetRole.TRAIN, *, label: str | None = None
    ) -> RunInput:
        """Record an already stored version as an input of ``run_id``.

        ``label`` names the input on its lineage edge when the caller has a more precise name than
        the role (a pipeline step's parameter, such as ``holdout``); the role is kept beside it.
        """
        version = self.resolve(uri)
        role = parse_role(role)
        now = self._clock.now_ms()
        with guarded(self._db, self._clock) as conn:
            require(conn, self._actor(), Permission.TRACK, now_ms=now)
            added = self._add_input(conn, version, run_id, role, now, label=label)
            details = {"dataset_version": version.uri, "role": role.value, "label": label}
            audit_append(conn, self._actor(), "run.input_added", "run", run_id, details, now_ms=now)
            return added

    def _add_input(
        self,
        conn: Connection,
        version: DatasetVersion,
        run_id: str,
        role: DatasetRole,
        now: int,
        *,
        label: str | None = None,
    ) -> RunInput:
        info = run_rows.get_info(conn, run_id)
        if info is None:
            raise NotFound(f"no run with id {run_id!r}")
        if info.lifecycle_stage is LifecycleStage.DELETED:
            raise Conflict(f"run {run_id} is deleted; restore it before logging to it")
        run_input = RunInput(run_id=run_id, dataset_name=version.name, digest=version.digest, role=role, created_at=now)
        input_rows.add(conn, run_input)
        lineage_rows.add(
            conn,
            NodeRef(kind=NodeKind.DATASET_VERSION, id=version.node_id),
            NodeRef(kind=NodeKind.RUN, id=run_id),
            Relation.INPUT,
            now_ms=now,
            properties={"role": role.value} if label is None else {"role": label, "dataset_role": role.value},
        )
        return run_input

    # -- reads ---------------------------------------------------------------------------------

    def get(self, name: str, digest_prefix: str) -> DatasetVersion:
        """The version of ``name`` whose digest starts with ``digest_prefix`` (at least 4 hex digits)."""
        validate_dataset_name(name)
        prefix = digest_prefix.lower()
        if not re.fullmatch(r"[0-9a-f]{4,64}", prefix):
            raise InvalidInput(f"a digest prefix is 4 to 64 hex digits, not {digest_prefix!r}")
        with self._db.read() as conn:
            found = dataset_rows.find_versions(conn, name, prefix)
            if not found and dataset_rows.get_dataset(conn, name) is None:
                raise NotFound(f"no dataset named {name!r}")
        if not found:
            raise NotFound(f"dataset {name!r} has no version with a digest starting {prefix}")
        if len(found) > 1:
            raise InvalidInput(
                f"digest prefix {prefix} of dataset {name!r} is ambiguous; give more digits",
                matches=[v.digest for v in found],
            )
        return found[0]

    def resolve(self, uri: str) -> DatasetVersion:
        """The version a ``datasets:/<name>@<digest-prefix>`` URI names."""
        parsed = parse_dataset_uri(uri)
        return self.get(parsed.name, parsed.digest_prefix)

    def read_bytes(self, version: DatasetVersion) -> bytes:
        """The stored canonical Parquet bytes, checked against the digest."""
        data = self._store.read_bytes(version.storage_uri, DATA_FILE)
        if hashlib.sha256(data).hexdigest() != version.digest:
            raise ModelyardError(
                f"the stored content of {version.uri} does not match its digest; the file at "
                f"{version.storage_uri}/{DATA_FILE} was changed or damaged"
            )
        return data

    def load(self, uri_or_version: str | DatasetVersion, columns: list[str] | None = None) -> pd.DataFrame:
        """The version's content as a DataFrame (optionally only ``columns``)."""
        version = self.resolve(uri_or_version) if isinstance(uri_or_version, str) else uri_or_version
        if columns is not None:
            unknown = sorted(set(columns) - {c.name for c in version.columns})
            if unknown:
                raise InvalidInput(f"{version.uri} has no column(s) {', '.join(unknown)}")
        return parquet_to_frame(self.read_bytes(version), columns)

    def list_datasets(self) -> list[Dataset]:
        with self._db.read() as conn:
            return dataset_rows.list_datasets(conn)

    def list_versions(self, name: str) -> list[DatasetVersion]:
        """The versions of ``name``, newest first; ``NotFound`` for an unknown dataset."""
        validate_dataset_name(name)
        with self._db.read() as conn:
            if dataset_rows.get_dataset(conn, name) is None:
                raise NotFound(f"no dataset named {name!r}")
            return dataset_rows.list_versions(conn, name)

    def inputs_of_run(self, run_id: str) -> list[RunInput]:
        with self._db.read() as conn:
            return input_rows.for_run(conn, run_id)

    def runs_of(self, version: DatasetVersion) -> list[RunInput]:
        """Every recorded use of ``version`` by a run."""
        with self._db.read() as conn:
            return input_rows.for_version(conn, version.name, version.digest)

    def diff(self, uri_a: str, uri_b: str) -> DatasetDiff:
        """Schema and distribution changes from A to B (see ``modelyard.data.diff``)."""
        a, b = self.resolve(uri_a), self.resolve(uri_b)
        numeric = [
            c.name
            for c in a.profile.columns
            if isinstance(c, NumericColumnProfile) and isinstance(b.profile.get(c.name), NumericColumnProfile)
        ]
        values = {}
        if numeric:
            table = parquet_to_table(self.read_bytes(b), numeric)
            values = {name: numeric_values(table.column(name)) for name in numeric}
        return diff_versions(a, b, values)
