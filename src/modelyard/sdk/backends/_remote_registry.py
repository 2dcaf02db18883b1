"""Logged models, the registry and model loading over the REST API (``LocalBackend``'s method
names). A model is saved into a temporary folder here, its files uploaded to the run, then the
server records it after checking its manifest; loading downloads the files once into the local
cache (named by digest) and checks the digest on every load, as the embedded resolver does."""

from __future__ import annotations

import builtins
import os
import shutil
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from modelyard.domain.models import ModelSignature
from modelyard.domain.registry import LoggedModel, ModelStage, ModelVersion, RegisteredModel
from modelyard.errors import AlreadyExists, Conflict, InvalidInput, NotFound, PermissionDenied
from modelyard.models import InputExample, Predictor, folder_digest, load_model_dir, save_model
from modelyard.registry.resolve import ModelLocation, ResolvedModel
from modelyard.sdk.backends._http import Transport, decode_list
from modelyard.sdk.backends._remote_tracking import RemoteArtifacts, q
from modelyard.store.artifacts import normalize_artifact_path


def _plain(mapping: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: v if isinstance(v, (str, int, float, bool)) or v is None else str(v) for k, v in (mapping or {}).items()}


class RemoteLoggedModels:
    def __init__(self, http: Transport, artifacts: RemoteArtifacts) -> None:
        self._http = http
        self._artifacts = artifacts

    def log(
        self,
        run_id: str,
        model: object,
        name: str = "model",
        *,
        input_example: InputExample | None = None,
        signature: ModelSignature | None = None,
        flavor: str | None = None,
        requirements: Sequence[str] | None = None,
    ) -> LoggedModel:
        path = normalize_artifact_path(name)
        if not path:
            raise InvalidInput("a logged model needs a name (its folder among the run's artifacts), e.g. 'model'")
        if self._artifacts.list(run_id, path):
            raise AlreadyExists(f"run {run_id} already has artifacts at {path!r}; log the model under another name")
        with tempfile.TemporaryDirectory(prefix="modelyard-model-") as tmp:
            local = Path(tmp) / "model"
            save_model(
                model, local, input_example=input_example, signature=signature, flavor=flavor, requirements=requirements
            )
            self._artifacts.log_dir(run_id, local, path)
        return self._http.send("POST", f"/runs/{q(run_id)}/logged-models", LoggedModel, {"name": path})

    def get(self, model_id: str) -> LoggedModel:
        return self._http.get(f"/logged-models/{q(model_id)}", LoggedModel)

    def find(self, run_id: str, artifact_path: str) -> LoggedModel | None:
        try:
            return self._http.get(f"/runs/{q(run_id)}/logged-models/by-path", LoggedModel, path=artifact_path)
        except NotFound:
            return None

    def list_for_run(self, run_id: str) -> list[LoggedModel]:
        return self._http.get_list(f"/runs/{q(run_id)}/logged-models", LoggedModel)


class RemoteRegisteredModels:
    def __init__(self, http: Transport) -> None:
        self._http = http

    def create(
        self, name: str, *, description: str | None = None, tags: Mapping[str, Any] | None = None
    ) -> RegisteredModel:
        body = {"name": name, "description": description, "tags": _plain(tags)}
        return self._http.send("POST", "/registered-models", RegisteredModel, body)

    def get(self, name: str) -> RegisteredModel:
        return self._http.get(f"/registered-models/{q(name)}", RegisteredModel)

    def search(
        self, filter_string: str | None = None, *, max_results: int = 1000, offset: int = 0
    ) -> list[RegisteredModel]:
        page = self._http.call(
            "GET",
            "/registered-models",
            params={"filter": filter_string, "max_results": max_results, "page_token": str(offset)},
        ).json()
        return decode_list(RegisteredModel, page["items"])

    def update(self, name: str, *, description: str) -> RegisteredModel:
        return self._http.send(
            "PATCH", f"/registered-models/{q(name)}", RegisteredModel, {"description": description}, idempotent=True
        )

    def delete(self, name: str) -> None:
        self._http.act("DELETE", f"/registered-models/{q(name)}")

    def set_tag(self, name: str, key: str, value: Any) -> None:
        self._http.act("PUT", f"/registered-models/{q(name)}/tags/{q(key)}", body={"value": _plain({"v": value})["v"]})

    def delete_tag(self, name: str, key: str) -> None:
        self._http.act("DELETE", f"/registered-models/{q(name)}/tags/{q(key)}")


class RemoteModelVersions:
    def __init__(self, http: Transport) -> None:
        self._http = http

    def _path(self, name: str, version: int | str) -> str:
        return f"/registered-models/{q(name)}/versions/{q(str(version))}"

    def create(
        self,
        name: str,
        source: str,
        *,
        description: str | None = None,
        tags: Mapping[str, Any] | None = None,
        create_model: bool = False,
    ) -> ModelVersion:
        body = {
            "name": name,
            "source": source,
            "description": description,
            "tags": _plain(tags),
            "create_model": create_model,
        }
        return self._http.send("POST", "/model-versions", ModelVersion, body)

    def get(self, name: str, version: int | str) -> ModelVersion:
        return self._http.get(self._path(name, version), ModelVersion)

    def list(self, name: str) -> list[ModelVersion]:
        return self._http.pages(f"/registered-models/{q(name)}/versions", ModelVersion)

    def search(
        self, filter_string: str | None = None, *, max_results: int = 1000, offset: int = 0
    ) -> builtins.list[ModelVersion]:
        page = self._http.call(
            "GET",
            "/model-versions",
            params={"filter": filter_string, "max_results": max_results, "page_token": str(offset)},
        ).json()
        return decode_list(ModelVersion, page["items"])

    def update(self, name: str, version: int | str, *, description: str) -> ModelVersion:
        return self._http.send(
            "PATCH", self._path(name, version), ModelVersion, {"description": description}, idempotent=True
        )

    def delete(self, name: str, version: int | str) -> None:
        self._http.act("DELETE", self._path(name, version))

    def set_tag(self, name: str, version: int | str, key: str, value: Any) -> None:
        self._http.act("PUT", f"{self._path(name, version)}/tags/{q(key)}", body={"value": _plain({"v": value})["v"]})

    def delete_tag(self, name: str, version: int | str, key: str) -> None:
        self._http.act("DELETE", f"{self._path(name, version)}/tags/{q(key)}")


class RemoteAliases:
    def __init__(self, http: Transport) -> None:
        self._http = http

    def set(self, name: str, alias: str, version: int | str, *, reason: str = "") -> ModelVersion:
        body = {"version": int(version), "reason": reason}
        return self._http.send("PUT", f"/registered-models/{q(name)}/aliases/{q(alias)}", ModelVersion, body)

    def get_version(self, name: str, alias: str) -> ModelVersion:
        return self._http.get(f"/registered-models/{q(name)}/aliases/{q(alias)}", ModelVersion)

    def delete(self, name: str, alias: str) -> None:
        self._http.act("DELETE", f"/registered-models/{q(name)}/aliases/{q(alias)}")


class RemoteStages:
    def __init__(self, http: Transport) -> None:
        self._http = http

    def transition(
        self,
        name: str,
        version: int | str,
        stage: ModelStage | str,
        *,
        archive_existing_versions: bool = False,
        reason: str = "",
    ) -> ModelVersion:
        body = {"stage": str(stage), "archive_existing_versions": archive_existing_versions, "reason": reason}
        path = f"/registered-models/{q(name)}/versions/{q(str(version))}/stage"
        return self._http.send("POST", path, ModelVersion, body)


class RemoteModelResolver:
    """``load``/``resolve`` of model URIs: the server says where the files are, this process
    downloads them into ``cache_dir`` once per digest and loads them checking that digest."""

    def __init__(self, http: Transport, artifacts: RemoteArtifacts, cache_dir: str | os.PathLike[str]) -> None:
        self._http = http
        self._artifacts = artifacts
        self.cache_dir = Path(cache_dir)

    def load(self, uri: str | os.PathLike[str], *, trusted: bool = False) -> Predictor:
        """Like ``ModelResolver.load``; models come from the server's store, which recorded their
        digests, so ``trusted`` only matters for local folders (the server never sends one)."""
        resolved = self.resolve(uri)
        if resolved.digest is None and not trusted and not resolved.uri.startswith(("models:/", "runs:/")):
            raise PermissionDenied(
                f"{resolved.uri!r} is a local model directory no store recorded; loading it unpickles its files, "
                "which runs any code they hold. Load it with trusted=True only if you trust where it came from"
            )
        try:
            return load_model_dir(resolved.local_path, expected_digest=resolved.digest)
        except Conflict:
            if resolved.digest is None or not resolved.local_path.is_relative_to(self.cache_dir):
                raise
            shutil.rmtree(resolved.local_path, ignore_errors=True)  # a damaged cached copy: fetch again
            return load_model_dir(self.resolve(uri).local_path, expected_digest=resolved.digest)

    def resolve(self, uri: str | os.PathLike[str]) -> ResolvedModel:
        text = os.fspath(uri)
        if not text.startswith(("models:/", "runs:/")):
            local = Path(text.removeprefix("file://")).expanduser()
            if not local.exists():
                raise NotFound(
                    f"{text!r} is not a model URI (runs:/…, models:/…) nor an existing local model directory"
                )
            return ResolvedModel(uri=text, local_path=local, digest=None)
        where = self._http.get("/models/resolve", ModelLocation, uri=text)
        if where.digest is not None and (self.cache_dir / _digest_folder(where.digest)).is_dir():
            local_path = self.cache_dir / _digest_folder(where.digest)
            return ResolvedModel(
                uri=text,
                local_path=local_path,
                digest=where.digest,
                logged_model=where.logged_model,
                version=where.version,
            )
        staging = self._download(where.run_id, where.artifact_path)
        digest = where.digest or folder_digest(staging)
        target = self.cache_dir / _digest_folder(digest)
        if target.is_dir():
            shutil.rmtree(staging, ignore_errors=True)
        else:
            try:
                os.rename(staging, target)
            except OSError:
                shutil.rmtree(staging, ignore_errors=True)
                if not target.is_dir():
                    raise
        return ResolvedModel(
            uri=text, local_path=target, digest=where.digest, logged_model=where.logged_model, version=where.version
        )

    def _download(self, run_id: str, path: str) -> Path:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        staging = self.cache_dir / f".download-{uuid.uuid4().hex}.partial"
        try:
            fetched = self._artifacts.download(run_id, path, staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        if fetched != staging:
            moved = self.cache_dir / f".download-{uuid.uuid4().hex}.partial"
            os.rename(fetched, moved)
            shutil.rmtree(staging, ignore_errors=True)
            staging = moved
        return staging


def _digest_folder(digest: str) -> str:
    algorithm, _, value = digest.partition(":")
    return f"{algorithm}-{value}" if value else algorithm
