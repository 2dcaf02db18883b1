"""A run's files: logged atomically below the run's artifact URI, listed and downloaded."""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from modelyard.clock import SYSTEM_CLOCK, Clock
from modelyard.domain.governance import Permission, Scope
from modelyard.domain.tracking import FileInfo, LifecycleStage
from modelyard.errors import Conflict, InvalidInput, NotFound
from modelyard.governance import ActorProvider, actor_provider, guarded, require
from modelyard.store.artifacts import ArtifactStore, normalize_artifact_path
from modelyard.store.db import Database
from modelyard.store.repos import runs as run_rows


class ArtifactService:
    """Writes go to ``<run artifact_uri>/<artifact_path>/<file name>``; reads never see partial files."""

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

    def _run_uri(self, run_id: str, *, for_write: bool) -> str:
        """The run's artifact URI; a write needs ``track`` on the run's experiment, as the run's other writes do."""
        if not for_write:
            with self._db.read() as conn:
                info = run_rows.get_info(conn, run_id)
            if info is None:
                raise NotFound(f"no run with id {run_id!r}")
            return info.artifact_uri
        with guarded(self._db, self._clock) as conn:
            info = run_rows.get_info(conn, run_id)
            if info is None:
                raise NotFound(f"no run with id {run_id!r}")
            scope = Scope.experiment(info.experiment_id)
            require(conn, self._actor(), Permission.TRACK, scope, now_ms=self._clock.now_ms())
        if info.lifecycle_stage is LifecycleStage.DELETED:
            raise Conflict(f"run {run_id} is deleted; restore it before logging to it")
        return info.artifact_uri

    def log_file(self, run_id: str, local_path: str | os.PathLike[str], artifact_path: str | None = None) -> str:
        """Copy one file into the run; returns its path among the run's artifacts."""
        source = Path(local_path)
        try:
            found = source.is_file()
        except (OSError, ValueError) as exc:  # a name too long for the file system, a NUL byte
            raise InvalidInput(f"cannot read the file {str(source)[:200]!r}: {exc}") from None
        if not found:
            raise NotFound(f"no such file: {source}")
        folder = normalize_artifact_path(artifact_path)
        rel = f"{folder}/{source.name}" if folder else source.name
        self._store.put_file(self._run_uri(run_id, for_write=True), rel, source)
        return rel

    def log_dir(self, run_id: str, local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> list[str]:
        """Copy a folder's files into the run (below ``artifact_path``); returns their paths."""
        return self._store.put_dir(self._run_uri(run_id, for_write=True), artifact_path or "", local_dir)

    def log_bytes(self, run_id: str, data: bytes, artifact_file: str) -> str:
        """Write ``data`` as the file ``artifact_file`` (a path relative to the run's artifacts)."""
        rel = normalize_artifact_path(artifact_file)
        self._store.put_bytes(self._run_uri(run_id, for_write=True), rel, data)
        return rel

    def list(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        return self._store.list(self._run_uri(run_id, for_write=False), path or "")

    def read_bytes(self, run_id: str, path: str) -> bytes:
        return self._store.read_bytes(self._run_uri(run_id, for_write=False), path)

    def download(self, run_id: str, path: str | None, dst_dir: str | os.PathLike[str]) -> Path:
        return self._store.download(self._run_uri(run_id, for_write=False), path or "", dst_dir)

    def open(self, run_id: str, path: str) -> tuple[BinaryIO, int]:
        """A file of the run opened for reading (seekable) and its size; the caller closes it.

        The server streams downloads (and byte ranges of them) from it without reading the file
        into memory.
        """
        return self._store.open_file(self._run_uri(run_id, for_write=False), path)
