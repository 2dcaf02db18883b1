"""Experiments, runs, metrics, artifacts and search over the REST API, with the services'
method names and signatures (``LocalBackend``'s), so the SDK and CLI call either unchanged."""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from modelyard.domain.search import ViewType
from modelyard.domain.tracking import (
    Environment,
    Experiment,
    FileInfo,
    Metric,
    PagedList,
    PurgeReport,
    Run,
    RunColumns,
    RunStatus,
    SourceInfo,
)
from modelyard.errors import NotFound
from modelyard.sdk.backends._http import Transport, decode_list, json_float
from modelyard.store.artifacts import normalize_artifact_path


def q(segment: str) -> str:
    """A path segment, percent-encoded (names may hold spaces, '/' or '%')."""
    return quote(str(segment), safe="")


def metric_body(metric: Metric) -> dict[str, Any]:
    return {"key": metric.key, "value": json_float(metric.value), "timestamp": metric.timestamp, "step": metric.step}


def _values(mapping: Mapping[str, Any] | None) -> dict[str, Any]:
    """Param and tag values as the services accept them (they stringify); JSON needs plain values."""
    return {k: v if isinstance(v, (str, int, float, bool)) or v is None else str(v) for k, v in (mapping or {}).items()}


class RemoteExperiments:
    def __init__(self, http: Transport) -> None:
        self._http = http

    def create(self, name: str, *, tags: dict[str, str] | None = None, artifact_location: str | None = None) -> str:
        body = {"name": name, "tags": tags or {}, "artifact_location": artifact_location}
        return str(self._http.send("POST", "/experiments", dict[str, str], body)["experiment_id"])

    def get(self, experiment_id: str) -> Experiment:
        return self._http.get(f"/experiments/{q(experiment_id)}", Experiment)

    def get_by_name(self, name: str) -> Experiment | None:
        try:
            return self._http.get("/experiments/by-name", Experiment, name=name)
        except NotFound:
            return None

    def get_or_create(self, name: str) -> Experiment:
        return self._http.send("POST", "/experiments/get-or-create", Experiment, {"name": name}, idempotent=True)

    def resolve(self, name_or_id: str) -> Experiment:
        return self._http.get("/experiments/resolve", Experiment, name_or_id=name_or_id)

    def list(self, *, include_deleted: bool = False, only_deleted: bool = False) -> list[Experiment]:
        view = ViewType.DELETED_ONLY if only_deleted else ViewType.ALL if include_deleted else ViewType.ACTIVE_ONLY
        return self._http.pages("/experiments", Experiment, view=view.value)

    def rename(self, experiment_id: str, new_name: str) -> None:
        self._http.act("PATCH", f"/experiments/{q(experiment_id)}", body={"name": new_name})

    def delete(self, experiment_id: str) -> None:
        self._http.act("DELETE", f"/experiments/{q(experiment_id)}")

    def restore(self, experiment_id: str) -> None:
        self._http.act("POST", f"/experiments/{q(experiment_id)}/restore", idempotent=True)

    def set_tag(self, experiment_id: str, key: str, value: str) -> None:
        self._http.act("PUT", f"/experiments/{q(experiment_id)}/tags/{q(key)}", body={"value": str(value)})


class RemoteRuns:
    def __init__(self, http: Transport) -> None:
        self._http = http

    def create(
        self,
        experiment_id: str,
        *,
        user: str,
        run_name: str | None = None,
        tags: Mapping[str, Any] | None = None,
        parent_run_id: str | None = None,
        source: SourceInfo | None = None,
        environment: Environment | None = None,
        start_time: int | None = None,
    ) -> Run:
        """Start a run; its ``user`` is the token's user (the server ignores ``user``)."""
        body = {
            "experiment_id": str(experiment_id),
            "run_name": run_name,
            "tags": {k: str(v) for k, v in (tags or {}).items()},
            "parent_run_id": parent_run_id,
            "source": dataclasses.asdict(source) if source else None,
            "environment": dataclasses.asdict(environment) if environment else None,
            "start_time": start_time,
        }
        return self._http.send("POST", "/runs", Run, body)

    def get(self, run_id: str) -> Run:
        return self._http.get(f"/runs/{q(run_id)}", Run)

    def get_many(self, run_ids: Sequence[str]) -> list[Run]:
        return self._http.send_list("POST", "/runs/get-many", Run, {"run_ids": list(run_ids)}, idempotent=True)

    def resolve_id(self, run_id_or_prefix: str) -> str:
        return str(self._http.get("/runs/resolve-id", dict[str, list[str]], prefix=run_id_or_prefix)["run_ids"][0])

    def children(self, run_id: str) -> list[str]:
        return [child["run_id"] for child in self._http.pages(f"/runs/{q(run_id)}/children", dict[str, str])]

    def end(
        self,
        run_id: str,
        status: RunStatus | str = RunStatus.FINISHED,
        *,
        end_time: int | None = None,
        metrics: Sequence[Metric] = (),
    ) -> None:
        body = {"status": str(RunStatus(status)), "end_time": end_time, "metrics": [metric_body(m) for m in metrics]}
        self._http.act("POST", f"/runs/{q(run_id)}/end", body=body)

    def reopen(self, run_id: str) -> None:
        self._http.act("POST", f"/runs/{q(run_id)}/reopen", idempotent=True)

    def rename(self, run_id: str, name: str) -> None:
        self._http.act("PATCH", f"/runs/{q(run_id)}", body={"name": name}, idempotent=True)

    def delete(self, run_id: str) -> None:
        self._http.act("DELETE", f"/runs/{q(run_id)}")

    def restore(self, run_id: str) -> None:
        self._http.act("POST", f"/runs/{q(run_id)}/restore", idempotent=True)

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        self._http.act("POST", f"/runs/{q(run_id)}/params", body={"params": _values(params)}, idempotent=True)

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        self._http.act("POST", f"/runs/{q(run_id)}/tags", body={"tags": _values(tags)}, idempotent=True)

    def delete_tag(self, run_id: str, key: str) -> None:
        self._http.act("DELETE", f"/runs/{q(run_id)}/tags/{q(key)}")

    def log_batch(
        self,
        run_id: str,
        *,
        metrics: Sequence[Metric] = (),
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> None:
        body = {"metrics": [metric_body(m) for m in metrics], "params": _values(params), "tags": _values(tags)}
        self._http.act("POST", f"/runs/{q(run_id)}/batch", body=body)

    def heartbeat(self, run_ids: Sequence[str]) -> None:
        self._http.act("POST", "/runs/heartbeat", body={"run_ids": list(run_ids)}, idempotent=True)

    def gc(self, timeout_s: float) -> list[str]:
        return list(self._http.send("POST", "/runs/gc", dict[str, list[str]], {"timeout_s": timeout_s})["run_ids"])


class RemotePurge:
    """``RunPurgeService`` on the server: the purge runs there, as the token's user."""

    def __init__(self, http: Transport) -> None:
        self._http = http

    def purge_deleted(
        self,
        *,
        older_than_ms: int | None = None,
        run_ids: Sequence[str] | None = None,
        experiment_ids: Sequence[str] | None = None,
        dry_run: bool = False,
    ) -> PurgeReport:
        body = {
            "deleted_older_than_ms": older_than_ms,
            "run_ids": None if run_ids is None else list(run_ids),
            "experiment_ids": None if experiment_ids is None else list(experiment_ids),
            "dry_run": dry_run,
        }
        return self._http.send("POST", "/runs/gc/purge-deleted", PurgeReport, body)


class RemoteMetrics:
    def __init__(self, http: Transport) -> None:
        self._http = http

    def log(self, run_id: str, batch: Sequence[Metric]) -> None:
        """One HTTP call per batch (the background writer sends up to ``metric_batch_size`` at once)."""
        if batch:
            self._http.act("POST", f"/runs/{q(run_id)}/metrics", body={"metrics": [metric_body(m) for m in batch]})

    def history(self, run_id: str, key: str) -> list[Metric]:
        return self._http.pages(f"/runs/{q(run_id)}/metrics/{q(key)}/history", Metric)

    def history_columns(self, run_id: str, key: str) -> tuple[Any, Any, Any]:
        """The history as numpy arrays (steps, timestamps, values), from its pages."""
        import numpy as np

        points = self.history(run_id, key)
        return (
            np.array([m.step for m in points], dtype=np.int64),
            np.array([m.timestamp for m in points], dtype=np.int64),
            np.array([m.value for m in points], dtype=np.float64),
        )


class RemoteSearch:
    def __init__(self, http: Transport) -> None:
        self._http = http

    def search(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        *,
        max_results: int = 1000,
        page_token: str | None = None,
        view: ViewType | str = ViewType.ACTIVE_ONLY,
    ) -> PagedList[Run]:
        body = {
            "experiment_ids": [str(e) for e in experiment_ids],
            "filter": filter_string,
            "order_by": list(order_by) if order_by else None,
            "max_results": max_results,
            "page_token": page_token,
            "view": ViewType(view).value,
        }
        page = self._http.call("POST", "/runs/search", json=body, idempotent=True).json()
        return PagedList(decode_list(Run, page["items"]), page.get("next_page_token"))

    def search_columns(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        *,
        max_results: int = 100_000,
        view: ViewType | str = ViewType.ACTIVE_ONLY,
    ) -> RunColumns:
        """The server's pages of runs, as columns (the first page is always asked for, so the
        server judges ``max_results`` as it does for the embedded store)."""
        runs: list[Run] = []
        token: str | None = None
        while True:
            size = min(_COLUMN_PAGE, max_results - len(runs))
            page = self.search(experiment_ids, filter_string, order_by, max_results=size, page_token=token, view=view)
            runs.extend(page)
            token = page.token
            if token is None or len(runs) >= max_results:
                return RunColumns.from_runs(runs)


_COLUMN_PAGE = 50_000  # the server's largest page


class RemoteArtifacts:
    """Uploads stream files from disk; downloads stream to disk (never a whole file in memory)."""

    def __init__(self, http: Transport) -> None:
        self._http = http

    def _url(self, run_id: str, rel: str) -> str:
        return f"/runs/{q(run_id)}/artifacts/" + "/".join(q(p) for p in rel.split("/"))

    def _put(self, run_id: str, rel: str, content: bytes | Callable[[], Iterator[bytes]]) -> str:
        return str(self._http.call("PUT", self._url(run_id, rel), content=content).json()["path"])

    def log_file(self, run_id: str, local_path: str | os.PathLike[str], artifact_path: str | None = None) -> str:
        source = Path(local_path)
        if not source.is_file():
            raise NotFound(f"no such file: {source}")
        folder = normalize_artifact_path(artifact_path)
        return self._put(run_id, f"{folder}/{source.name}" if folder else source.name, lambda: _read_chunks(source))

    def log_dir(self, run_id: str, local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> list[str]:
        root = Path(local_dir)
        if not root.is_dir():
            raise NotFound(f"no such folder: {root}")
        prefix = normalize_artifact_path(artifact_path)
        written = []
        for file in sorted(p for p in root.rglob("*") if p.is_file()):
            rel = file.relative_to(root).as_posix()
            written.append(
                self._put(run_id, f"{prefix}/{rel}" if prefix else rel, functools.partial(_read_chunks, file))
            )
        return written

    def log_bytes(self, run_id: str, data: bytes, artifact_file: str) -> str:
        return self._put(run_id, normalize_artifact_path(artifact_file), data)

    def list(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        return self._http.pages(f"/runs/{q(run_id)}/artifacts", FileInfo, path=path)

    def read_bytes(self, run_id: str, path: str) -> bytes:
        return self._http.call("GET", self._url(run_id, normalize_artifact_path(path))).content

    def download(self, run_id: str, path: str | None, dst_dir: str | os.PathLike[str]) -> Path:
        """Copy a file or folder to ``dst_dir``; returns the local path of what was copied."""
        rel = normalize_artifact_path(path)
        root = Path(dst_dir)
        target = root / rel if rel else root
        entries = self.list(run_id, rel)
        if not entries:
            if not rel:
                target.mkdir(parents=True, exist_ok=True)
                return target
            self._fetch(run_id, rel, target)  # a file (or NotFound)
            return target
        target.mkdir(parents=True, exist_ok=True)
        for entry in entries:
            local = root / entry.path
            if entry.is_dir:
                self.download(run_id, entry.path, root)
            else:
                self._fetch(run_id, entry.path, local)
        return target

    def _fetch(self, run_id: str, rel: str, local: Path) -> None:
        local.parent.mkdir(parents=True, exist_ok=True)
        partial = local.with_name(f".{local.name}.partial")
        try:
            with open(partial, "wb") as handle:
                for chunk in self._http.stream(self._url(run_id, rel)):
                    handle.write(chunk)
            os.replace(partial, local)
        finally:
            if partial.exists():
                partial.unlink()


def _read_chunks(path: Path, size: int = 256 * 1024) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while chunk := handle.read(size):
            yield chunk
