"""Reading an MLflow store through the mlflow library itself, so every store it can open (SQL
databases, the file store, a tracking server) can be imported the same way.

``mlflow`` is an optional dependency (``pip install modelyard[mlflow]``), imported when a source
is opened. When the store's artifacts moved since they were written, ``artifacts_root`` names
where they are now: each experiment's recorded location is then read as
``<artifacts_root>/<experiment id>`` (MLflow's own layout below its artifact root).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelyard.errors import BackendUnavailable, InvalidInput, NotFound

if TYPE_CHECKING:
    from mlflow import MlflowClient

_PAGE = 1000


def _client(tracking_uri: str) -> MlflowClient:
    try:
        from mlflow import MlflowClient
        from mlflow.environment_variables import MLFLOW_ALLOW_FILE_STORE, MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR
    except ImportError:
        raise BackendUnavailable(
            "importing from MLflow needs the mlflow library: pip install 'modelyard[mlflow]'"
        ) from None
    # the import draws one progress bar of its own, not one per downloaded folder (mlflow is untyped)
    MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR.set("false")  # type: ignore[no-untyped-call]
    # mlflow 3 refuses to open a file store (mlruns/) unless told to; reading one to move it out
    # is exactly what its maintenance notice asks for
    MLFLOW_ALLOW_FILE_STORE.set("true")  # type: ignore[no-untyped-call]
    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def reading_errors() -> tuple[type[Exception], ...]:
    """The exceptions the mlflow library raises when a store cannot be read."""
    from mlflow.exceptions import MlflowException

    return (MlflowException,)


def _require_local_store(tracking_uri: str) -> None:
    """A store on this machine must exist: mlflow would otherwise create an empty one (a new
    SQLite file, a new mlruns folder) and the import would quietly find nothing."""
    uri = tracking_uri.strip()
    path: str | None = None
    if uri.startswith("sqlite:///"):
        path = uri[len("sqlite:///") :].split("?", 1)[0]
    elif uri.startswith("file://"):
        path = uri[len("file://") :]
    elif "://" not in uri:
        path = uri
    if path is not None and not Path(path).expanduser().exists():
        raise NotFound(f"no MLflow store at {tracking_uri!r}: {path} does not exist")


def source_key(tracking_uri: str) -> str:
    """The name imports from this store are recorded under: a local path is made absolute, so
    the same store imported from another working directory is recognised."""
    uri = tracking_uri.strip()
    if "://" not in uri and ":" not in uri[1:2]:
        uri = Path(uri).expanduser().resolve().as_uri()
    return f"mlflow:{uri}"


class MlflowSource:
    """One MLflow store: its experiments, runs, metric histories, artifacts, models and registry."""

    def __init__(self, tracking_uri: str, *, artifacts_root: str | None = None) -> None:
        if not tracking_uri.strip():
            raise InvalidInput("give the MLflow store to import: --from sqlite:///mlflow.db, a folder, or a URL")
        _require_local_store(tracking_uri)
        self.tracking_uri = tracking_uri
        self.key = source_key(tracking_uri)
        self._root = artifacts_root.rstrip("/") if artifacts_root else None
        self.client = _client(tracking_uri)
        self._locations: dict[str, str] = {}

    def experiments(self) -> list[Any]:
        from mlflow.entities import ViewType

        found: list[Any] = []
        token = None
        while True:
            page = self.client.search_experiments(view_type=ViewType.ALL, max_results=_PAGE, page_token=token)
            found.extend(page)
            token = page.token
            if not token:
                break
        for experiment in found:
            self._locations[experiment.experiment_id] = experiment.artifact_location or ""
        return sorted(found, key=lambda e: int(e.experiment_id) if e.experiment_id.isdigit() else 0)

    def runs(self, experiment_id: str) -> Iterator[Any]:
        """Every run of the experiment, active and deleted, oldest first (parents before children)."""
        from mlflow.entities import ViewType

        token = None
        while True:
            page = self.client.search_runs(
                [experiment_id],
                run_view_type=ViewType.ALL,
                max_results=_PAGE,
                order_by=["attributes.start_time ASC"],
                page_token=token,
            )
            yield from page
            token = page.token
            if not token:
                break

    def metric_history(self, run_id: str, key: str) -> list[Any]:
        return list(self.client.get_metric_history(run_id, key))

    def logged_models(self, experiment_ids: list[str]) -> list[Any]:
        """MLflow 3 logged models of these experiments (none for stores written by MLflow 2)."""
        if not experiment_ids:
            return []
        found: list[Any] = []
        token = None
        while True:
            page = self.client.search_logged_models(experiment_ids=experiment_ids, page_token=token)
            found.extend(page)
            token = page.token
            if not token:
                break
        return found

    def registered_models(self) -> list[Any]:
        found: list[Any] = []
        token = None
        while True:
            page = self.client.search_registered_models(max_results=_PAGE, page_token=token)
            found.extend(page)
            token = page.token
            if not token:
                break
        return found

    def model_versions(self, name: str) -> list[Any]:
        escaped = name.replace("'", "\\'")
        versions = list(self.client.search_model_versions(f"name = '{escaped}'"))
        return sorted(versions, key=lambda v: int(v.version))

    def download(self, artifact_uri: str, experiment_id: str, dst: Path) -> Path | None:
        """Copy the folder at ``artifact_uri`` (read below the moved root when one was given) to
        ``dst``; None when there is nothing there."""
        import mlflow.artifacts
        from mlflow.exceptions import MlflowException

        uri = self._moved(artifact_uri, experiment_id)
        try:
            # A tracking server's artifacts are ``mlflow-artifacts:/…``, resolved against the tracking
            # URI given here (not the process's global one, which is not this store).
            local = Path(
                mlflow.artifacts.download_artifacts(
                    artifact_uri=uri, dst_path=str(dst), tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri
                )
            )
        except (MlflowException, OSError):
            return None
        if local.is_file() or not any(p.is_file() for p in local.rglob("*")):
            return None
        return local

    def _moved(self, uri: str, experiment_id: str) -> str:
        recorded = self._locations.get(experiment_id, "")
        if self._root is None or not recorded or not uri.startswith(recorded):
            return uri
        return f"{self._root}/{experiment_id}{uri[len(recorded) :]}"
