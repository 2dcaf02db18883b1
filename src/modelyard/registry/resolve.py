"""From a URI to a loaded model: ``runs:/<run_id>/<path>``, ``models:/<name>/<N>``,
``models:/<name>@<alias>`` or a local model directory.

A model directory this store never recorded (a local folder, or files logged as plain artifacts;
modelyard's, or a folder MLflow saved) is loaded only when its digest, which covers every file
and the manifest, equals one the store recorded for a logged model, or when the caller says
``trusted=True``: loading a model unpickles its files, which runs whatever code they hold, and a
folder anyone could write proves nothing.

Stored models are downloaded once into a cache folder named by their content digest and loaded
with that digest as ``expected_digest``, so a cached copy that was modified, or a store whose files
no longer match what was registered, is refused rather than served. A cached copy that fails the
check is downloaded again once. Downloads land in a hidden folder and are renamed into place, so
processes loading the same model at once never see half a copy.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from modelyard.domain.registry import LoggedModel, ModelVersion
from modelyard.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from modelyard.registry._sources import logged_model_in_run, version_for
from modelyard.store.artifacts import ArtifactStore
from modelyard.store.db import Database
from modelyard.store.repos import logged_models as logged_model_rows
from modelyard.store.repos import runs as run_rows
from modelyard.uris import parse_model_uri, parse_run_uri

if TYPE_CHECKING:  # modelyard.models loads pandas: imported when a model is loaded, not to list one
    from modelyard.models import Predictor


@dataclass(frozen=True, kw_only=True)
class ResolvedModel:
    """Where a URI's model is on local disk, what digest it must have, and what it came from."""

    uri: str
    local_path: Path
    digest: str | None
    logged_model: LoggedModel | None = None
    version: ModelVersion | None = None


@dataclass(frozen=True, kw_only=True)
class ModelLocation:
    """Where the files of a stored model are: a run and a path among its artifacts (what a remote
    client downloads, then loads checking ``digest``; None for files no logged model records)."""

    uri: str
    run_id: str
    artifact_path: str
    digest: str | None
    logged_model: LoggedModel | None = None
    version: ModelVersion | None = None


class ModelResolver:
    """Resolves model URIs to local directories (cached by digest) and loads them."""

    def __init__(self, db: Database, artifacts: ArtifactStore, cache_dir: str | os.PathLike[str]) -> None:
        self._db = db
        self._artifacts = artifacts
        self.cache_dir = Path(cache_dir)

    def load(self, uri: str | os.PathLike[str], *, trusted: bool = False) -> Predictor:
        """The model ``uri`` names, as a ``Predictor``; ``trusted`` allows an unrecorded directory."""
        from modelyard.models import load_model_dir

        resolved = self.resolve(uri, trusted=trusted)
        try:
            return load_model_dir(resolved.local_path, expected_digest=resolved.digest)
        except Conflict:
            if resolved.logged_model is None or not resolved.local_path.is_relative_to(self.cache_dir):
                raise
            shutil.rmtree(resolved.local_path, ignore_errors=True)  # a damaged cached copy: fetch again
            fresh = self._fetch(resolved.logged_model)
            return load_model_dir(fresh, expected_digest=resolved.digest)

    def resolve(self, uri: str | os.PathLike[str], *, trusted: bool = False) -> ResolvedModel:
        """A local directory holding the model ``uri`` names, downloading it if needed.

        ``PermissionDenied`` for a directory the store never recorded, unless ``trusted``.
        """
        text = os.fspath(uri)
        if text.startswith("models:/"):
            with self._db.read() as conn:
                version = version_for(conn, parse_model_uri(text))
                logged = logged_model_rows.get(conn, version.model_id)
            assert logged is not None, "a version always points at a recorded logged model"
            return ResolvedModel(
                uri=text, local_path=self._fetch(logged), digest=logged.digest, logged_model=logged, version=version
            )
        if text.startswith("runs:/"):
            with self._db.read() as conn:
                run_uri = run_rows.resolve_uri(conn, parse_run_uri(text))
                logged = logged_model_in_run(conn, run_uri)
                info = run_rows.get_info(conn, run_uri.run_id)
            if logged is not None:
                return ResolvedModel(
                    uri=text, local_path=self._fetch(logged), digest=logged.digest, logged_model=logged
                )
            assert info is not None
            # Files logged as plain artifacts: cached by digest, loaded as an unrecorded directory.
            fetched = self._fetch_unrecorded(info.artifact_uri, run_uri.path)
            return ResolvedModel(uri=text, local_path=fetched, digest=self._vouch(text, fetched, trusted))
        local = Path(text.removeprefix("file://")).expanduser()
        if not local.exists():
            raise NotFound(f"{text!r} is not a model URI (runs:/…, models:/…) nor an existing local model directory")
        return ResolvedModel(uri=text, local_path=local, digest=self._vouch(text, local, trusted))

    def _vouch(self, uri: str, folder: Path, trusted: bool) -> str | None:
        """The digest to load an unrecorded directory with: one the store recorded, else ``trusted``."""
        from modelyard.models import folder_digest

        digest = folder_digest(folder)  # verified: the files (and a modelyard manifest) match it
        with self._db.read() as conn:
            if logged_model_rows.digest_recorded(conn, digest):
                return digest
        if trusted:
            return None
        raise PermissionDenied(
            f"{uri!r} is a model directory this store never recorded (digest {digest}); loading it unpickles "
            "its files, which runs any code they hold. Load it with trusted=True (CLI: --trust) only if you "
            "trust where it came from, or log it with log_model",
            digest=digest,
        )

    def locate(self, uri: str) -> ModelLocation:
        """The run and artifact path of the model a ``models:/`` or ``runs:/`` URI names."""
        if uri.startswith("models:/"):
            with self._db.read() as conn:
                version = version_for(conn, parse_model_uri(uri))
                logged = logged_model_rows.get(conn, version.model_id)
            assert logged is not None, "a version always points at a recorded logged model"
            return ModelLocation(
                uri=uri, run_id=logged.run_id, artifact_path=logged.artifact_path, digest=logged.digest,
                logged_model=logged, version=version,
            )  # fmt: skip
        if uri.startswith("runs:/"):
            run_uri = parse_run_uri(uri)
            with self._db.read() as conn:
                logged = logged_model_in_run(conn, run_uri)
            if logged is not None:
                return ModelLocation(
                    uri=uri, run_id=logged.run_id, artifact_path=logged.artifact_path, digest=logged.digest,
                    logged_model=logged,
                )  # fmt: skip
            return ModelLocation(uri=uri, run_id=run_uri.run_id, artifact_path=run_uri.path, digest=None)
        raise InvalidInput(f"{uri!r} is not a stored model's URI (runs:/…, models:/…)")

    def _fetch(self, logged: LoggedModel) -> Path:
        target = self.cache_dir / _digest_folder(logged.digest)
        if target.is_dir():
            return target
        return self._download_into(target, logged.storage_uri, "")

    def _fetch_unrecorded(self, base_uri: str, path: str) -> Path:
        from modelyard.models import folder_digest

        staging = self._download(base_uri, path)
        digest = folder_digest(staging)
        return self._place(staging, self.cache_dir / _digest_folder(digest))

    def _download_into(self, target: Path, base_uri: str, path: str) -> Path:
        return self._place(self._download(base_uri, path), target)

    def _download(self, base_uri: str, path: str) -> Path:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        staging = self.cache_dir / f".download-{uuid.uuid4().hex}.partial"
        try:
            fetched = self._artifacts.download(base_uri, path, staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        if fetched != staging:  # a sub path was downloaded below the staging folder
            moved = self.cache_dir / f".download-{uuid.uuid4().hex}.partial"
            os.rename(fetched, moved)
            shutil.rmtree(staging, ignore_errors=True)
            staging = moved
        return staging

    @staticmethod
    def _place(staging: Path, target: Path) -> Path:
        try:
            os.rename(staging, target)
        except OSError:
            if not target.is_dir():
                shutil.rmtree(staging, ignore_errors=True)
                raise
            shutil.rmtree(staging, ignore_errors=True)  # another process placed the same digest first
        return target


def _digest_folder(digest: str) -> str:
    algorithm, _, value = digest.partition(":")
    return f"{algorithm}-{value}" if value else algorithm
