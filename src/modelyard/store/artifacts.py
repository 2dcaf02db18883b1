"""The artifact store: files of runs (and later models, datasets, inference logs) over fsspec.

Writes are atomic: on a local disk a file is written under a hidden ``.partial`` name in the
destination folder and renamed into place, so a reader (or a crash) never sees half a file; on
object stores a single PUT is already all-or-nothing. Paths are relative to a base URI and may
not climb out of it.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import uuid
from pathlib import Path
from typing import Any, BinaryIO

import fsspec
from fsspec.implementations.local import LocalFileSystem

from modelyard.domain.tracking import FileInfo
from modelyard.errors import BackendUnavailable, InvalidInput, NotFound
from modelyard.names import check_name

PARTIAL_SUFFIX = ".partial"
MAX_ARTIFACT_PATH_LENGTH = 1024
MAX_ARTIFACT_NAME_LENGTH = 200  # a file system allows 255 bytes; a file being written adds ~42


def normalize_artifact_path(path: str | None) -> str:
    """A relative POSIX path inside the base folder; ``..``, absolute paths, control characters
    (a NUL byte), names over 200 characters and paths over 1,024 are refused, so every file
    system takes the path and none fails with a raw ``OSError`` or ``RecursionError``."""
    if path is None or path in ("", "."):
        return ""
    check_name("artifact path", path, max_length=MAX_ARTIFACT_PATH_LENGTH)
    if "\\" in path:
        path = path.replace("\\", "/")
    if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        raise InvalidInput(f"artifact path {path!r} is absolute; give a path relative to the run's artifacts")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise InvalidInput(f"artifact path {path!r} climbs out of the run's artifacts with '..'")
    if any(p.endswith(PARTIAL_SUFFIX) and p.startswith(".") for p in parts):
        raise InvalidInput(f"artifact path {path!r} uses a name reserved for files being written")
    for part in parts:
        if len(part.encode()) > MAX_ARTIFACT_NAME_LENGTH:
            raise InvalidInput(
                f"artifact name {part[:40]!r}... is {len(part.encode())} bytes; the limit is {MAX_ARTIFACT_NAME_LENGTH}"
            )
    return "/".join(parts)


def _is_partial(name: str) -> bool:
    base = posixpath.basename(name)
    return base.startswith(".") and base.endswith(PARTIAL_SUFFIX)


class ArtifactStore:
    """Reads and writes files below a root URI (a local folder or any fsspec URL)."""

    def __init__(self, root_uri: str, **storage_options: Any) -> None:
        self.root_uri = root_uri.rstrip("/") if "://" in root_uri else str(Path(root_uri).expanduser().absolute())
        try:
            self.fs, self._root = fsspec.core.url_to_fs(self.root_uri, **storage_options)
        except (ImportError, ValueError) as exc:
            raise BackendUnavailable(f"cannot open the artifact store {root_uri!r}: {exc}") from exc
        self.is_local = isinstance(self.fs, LocalFileSystem)

    def run_artifact_uri(self, experiment_id: str, run_id: str) -> str:
        """Where a new run's artifacts go; recorded on the run so later config changes keep it."""
        return f"{self.root_uri}/{experiment_id}/{run_id}/artifacts"

    # -- paths -------------------------------------------------------------------------------

    def _path(self, base_uri: str, rel_path: str = "") -> str:
        _, base = fsspec.core.url_to_fs(base_uri) if "://" in base_uri else (None, base_uri)
        rel = normalize_artifact_path(rel_path)
        return posixpath.join(base, rel) if rel else base

    # -- writes ------------------------------------------------------------------------------

    def put_file(self, base_uri: str, rel_path: str, local_path: str | os.PathLike[str]) -> None:
        """Copy one local file to ``base_uri/rel_path`` atomically."""
        dest = self._path(base_uri, rel_path)
        if not normalize_artifact_path(rel_path):
            raise InvalidInput("an artifact needs a file name")
        if self.is_local:
            self._atomic_local(dest, lambda tmp: shutil.copyfile(local_path, tmp))
        else:
            self.fs.put_file(str(local_path), dest)

    def put_bytes(self, base_uri: str, rel_path: str, data: bytes) -> None:
        """Write ``data`` to ``base_uri/rel_path`` atomically."""
        dest = self._path(base_uri, rel_path)
        if not normalize_artifact_path(rel_path):
            raise InvalidInput("an artifact needs a file name")
        if self.is_local:
            self._atomic_local(dest, lambda tmp: Path(tmp).write_bytes(data))
        else:
            self.fs.pipe_file(dest, data)

    def put_dir(self, base_uri: str, rel_dir: str, local_dir: str | os.PathLike[str]) -> list[str]:
        """Copy a local folder's files below ``base_uri/rel_dir``, each atomically; returns their paths."""
        root = Path(local_dir)
        if not root.is_dir():
            raise NotFound(f"no such folder: {root}")
        prefix = normalize_artifact_path(rel_dir)
        written = []
        for file in sorted(p for p in root.rglob("*") if p.is_file()):
            rel = file.relative_to(root).as_posix()
            target = f"{prefix}/{rel}" if prefix else rel
            self.put_file(base_uri, target, file)
            written.append(target)
        return written

    def _atomic_local(self, dest: str, write: Any) -> None:
        folder = os.path.dirname(dest)
        os.makedirs(folder, exist_ok=True)
        tmp = os.path.join(folder, f".{os.path.basename(dest)}.{uuid.uuid4().hex}{PARTIAL_SUFFIX}")
        try:
            write(tmp)
            with open(tmp, "rb+") as handle:  # the bytes reach the disk before the name does
                os.fsync(handle.fileno())
            os.replace(tmp, dest)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    # -- reads -------------------------------------------------------------------------------

    def list(self, base_uri: str, rel_path: str = "") -> list[FileInfo]:
        """The direct children of a folder (files and folders), sorted; partial files hidden."""
        folder = self._path(base_uri, rel_path)
        prefix = normalize_artifact_path(rel_path)
        if not self.fs.isdir(folder):
            return []
        entries = []
        for entry in self.fs.ls(folder, detail=True):
            name = posixpath.basename(entry["name"].rstrip("/"))
            if _is_partial(name):
                continue
            is_dir = entry["type"] == "directory"
            if is_dir and self.is_local and not self._has_finished_file(entry["name"]):
                continue  # made for a write that died before its file was renamed into place
            entries.append(
                FileInfo(
                    path=f"{prefix}/{name}" if prefix else name,
                    is_dir=is_dir,
                    file_size=None if is_dir else int(entry.get("size") or 0),
                )
            )
        return sorted(entries, key=lambda e: e.path)

    def _has_finished_file(self, folder: str) -> bool:
        return any(not _is_partial(path) for path in self.fs.find(folder))

    def read_bytes(self, base_uri: str, rel_path: str) -> bytes:
        path = self._path(base_uri, rel_path)
        if not self.fs.isfile(path):
            raise NotFound(f"no artifact {rel_path!r} under {base_uri}")
        return bytes(self.fs.cat_file(path))

    def open_file(self, base_uri: str, rel_path: str) -> tuple[BinaryIO, int]:
        """``base_uri/rel_path`` opened for binary reading, and its size in bytes."""
        path = self._path(base_uri, rel_path)
        if not normalize_artifact_path(rel_path) or not self.fs.isfile(path):
            raise NotFound(f"no artifact {rel_path!r} under {base_uri}")
        return self.fs.open(path, "rb"), int(self.fs.size(path))

    def exists(self, base_uri: str, rel_path: str = "") -> bool:
        return bool(self.fs.exists(self._path(base_uri, rel_path)))

    def download(self, base_uri: str, rel_path: str, dst_dir: str | os.PathLike[str]) -> Path:
        """Copy a file or folder to ``dst_dir``; returns the local path of what was copied."""
        src = self._path(base_uri, rel_path)
        rel = normalize_artifact_path(rel_path)
        dst_root = Path(dst_dir)
        target = dst_root / rel if rel else dst_root
        if self.fs.isfile(src):
            target.parent.mkdir(parents=True, exist_ok=True)
            self.fs.get_file(src, str(target))
            return target
        if not self.fs.isdir(src):
            raise NotFound(f"no artifact {rel_path!r} under {base_uri}")
        target.mkdir(parents=True, exist_ok=True)
        for path in self.fs.find(src):
            if _is_partial(path):
                continue
            local = target / posixpath.relpath(path, src)
            local.parent.mkdir(parents=True, exist_ok=True)
            self.fs.get_file(path, str(local))
        return target

    def tree_size(self, base_uri: str) -> int:
        """Bytes of every file below ``base_uri`` (0 when nothing is there)."""
        path = self._path(base_uri)
        if not self.fs.exists(path):
            return 0
        return int(self.fs.du(path, total=True))

    def remove_tree(self, base_uri: str) -> int:
        """Delete ``base_uri`` and everything below it (a purged run's folder); the bytes freed."""
        path = self._path(base_uri)
        size = self.tree_size(base_uri)
        if self.fs.exists(path):
            self.fs.rm(path, recursive=True)
        return size

    def remove_partials(self, base_uri: str) -> int:
        """Delete leftovers of writes that died midway (a killed process); returns how many."""
        base = self._path(base_uri)
        if not self.fs.isdir(base):
            return 0
        stale = [p for p in self.fs.find(base) if _is_partial(p)]
        for path in stale:
            self.fs.rm_file(path)
            if self.is_local:  # drop the folders the dead write had made, now empty
                folder = os.path.dirname(path)
                while folder != base and folder.startswith(base) and not os.listdir(folder):
                    os.rmdir(folder)
                    folder = os.path.dirname(folder)
        return len(stale)
