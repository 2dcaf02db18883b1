"""The fluent API: ``import modelyard as my; with my.start_run(): my.log_metric(...)``.

State is one stack of active runs per process (nested runs push onto it). A run left active
when the interpreter exits is ended FINISHED, or FAILED when an uncaught exception is what ended
the program; a run whose ``with`` block raises ends FAILED with the error recorded as a tag and
its traceback as ``error/traceback.txt``; Ctrl-C and SIGTERM end it KILLED.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import traceback
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, overload

import pandas as pd

from modelyard.config import Settings
from modelyard.domain.search import ViewType
from modelyard.domain.tracking import Experiment, FileInfo, Run, RunStatus
from modelyard.errors import InvalidInput, NotFound
from modelyard.sdk.client import Client
from modelyard.sdk.frames import columns_to_frame
from modelyard.sdk.shutdown import on_sigterm

ERROR_TAG = "modelyard.error"
TRACEBACK_FILE = "error/traceback.txt"

_lock = threading.RLock()
_settings_overrides: dict[str, Any] = {}
_client: Client | None = None
_active: list[ActiveRun] = []
_last: tuple[Client, str] | None = None  # the run end_run ended, fetched only if asked for
_experiment_id: str | None = None
_uncaught: BaseException | None = None
_hooks_installed = False


class ActiveRun:
    """The run ``start_run`` began: a context manager that ends it; ``.info`` and ``.data`` as a Run."""

    def __init__(self, run: Run) -> None:
        self._run = run

    @property
    def info(self):  # type: ignore[no-untyped-def]
        return self._run.info

    @property
    def data(self):  # type: ignore[no-untyped-def]
        return _client_().get_run(self._run.info.run_id).data

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            end_run(RunStatus.FINISHED)
        elif isinstance(exc, KeyboardInterrupt):
            end_run(RunStatus.KILLED)
        else:
            _record_error(self._run.info.run_id, exc)
            end_run(RunStatus.FAILED)

    def __repr__(self) -> str:
        return f"<ActiveRun run_id={self._run.info.run_id} name={self._run.info.run_name!r}>"


# -- configuration -------------------------------------------------------------------------------


def configure(**settings: Any) -> Settings:
    """Override settings for this process (``home=``, ``store_uri=``, ``artifact_uri=`` ...)."""
    global _client
    with _lock:
        if _active:
            raise InvalidInput("end the active run before changing settings")
        _settings_overrides.update(settings)
        _client = None
        return _client_().settings


def set_tracking_uri(uri: str) -> None:
    """MLflow's name for pointing at a store (``sqlite:///…``, ``postgresql://…``) or at a modelyard
    server (``http(s)://…``, with ``MODELYARD_TOKEN``)."""
    if uri.startswith(("http://", "https://")):
        configure(tracking_uri=uri)
        return
    if "://" not in uri:
        raise InvalidInput(
            f"tracking URI {uri!r} is neither a database URL nor a server URL; use sqlite:///path.db, "
            "postgresql+psycopg://… or http(s)://host:port"
        )
    configure(store_uri=uri)


def get_tracking_uri() -> str:
    settings = _client_().settings
    return str(settings.tracking_uri) if settings.is_remote else settings.store_uri


def _client_() -> Client:
    global _client
    with _lock:
        if _client is None:
            _client = Client(Settings.from_env(**_settings_overrides))
        return _client


def client() -> Client:
    """The ``Client`` the fluent API uses."""
    return _client_()


# -- experiments ---------------------------------------------------------------------------------


def set_experiment(experiment_name: str | None = None, experiment_id: str | None = None) -> Experiment:
    """Make an experiment the default for new runs, creating it by name when missing."""
    global _experiment_id
    c = _client_()
    if experiment_id is not None:
        experiment = c.get_experiment(experiment_id)
    elif experiment_name is not None:
        experiment = c.backend.experiments.get_or_create(experiment_name)
    else:
        raise InvalidInput("set_experiment needs an experiment_name or an experiment_id")
    _experiment_id = experiment.experiment_id
    return experiment


def create_experiment(name: str, artifact_location: str | None = None, tags: Mapping[str, str] | None = None) -> str:
    return _client_().create_experiment(name, artifact_location, tags)


def get_experiment_by_name(name: str) -> Experiment | None:
    return _client_().get_experiment_by_name(name)


# -- runs ----------------------------------------------------------------------------------------


def start_run(
    run_id: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    tags: Mapping[str, Any] | None = None,
    description: str | None = None,
    *,
    experiment: str | None = None,
    parent_run_id: str | None = None,
) -> ActiveRun:
    """Start a run (or resume ``run_id``) and make it the active one.

    ``experiment`` names an experiment (created when missing); ``experiment_id`` picks one by id;
    otherwise the one from ``set_experiment``, else ``Default``. A run started while another is
    active must say ``nested=True`` and becomes its child.
    """
    c = _client_()
    _install_hooks()
    with _lock:
        parent = parent_run_id
        if _active:
            if not nested:
                raise InvalidInput(
                    f"run {_active[-1].info.run_id} is already active; end it with end_run() first, "
                    "or pass nested=True to start a child run"
                )
            parent = parent or _active[-1].info.run_id
        if run_id is not None:
            run = c.resume_run(run_id)
        else:
            exp_id: str | None  # None: create_run puts the run in the Default experiment
            if experiment is not None:
                exp_id = c.backend.experiments.get_or_create(experiment).experiment_id
            elif experiment_id is None and _active:
                exp_id = _active[-1].info.experiment_id  # a child run lives beside its parent
            else:
                exp_id = experiment_id or _experiment_id
            labels = dict(tags or {})
            if description is not None:
                labels["modelyard.note.content"] = description
            run = c.create_run(exp_id, tags=labels, run_name=run_name, parent_run_id=parent)
        active = ActiveRun(run)
        _active.append(active)
        return active


def end_run(status: RunStatus | str = RunStatus.FINISHED) -> None:
    """End the active run (storing its buffered metrics first); no-op when none is active."""
    global _last
    with _lock:
        if not _active:
            return
        active = _active.pop()
    c = _client_()
    c.set_terminated(active.info.run_id, status)
    _last = (c, active.info.run_id)


def active_run() -> ActiveRun | None:
    with _lock:
        return _active[-1] if _active else None


def last_active_run() -> Run | None:
    """The run most recently ended by ``end_run`` (or the active one)."""
    current = active_run()
    if current is not None:
        return _client_().get_run(current.info.run_id)
    if _last is None:
        return None
    c, run_id = _last
    return c.get_run(run_id)


def get_run(run_id: str) -> Run:
    return _client_().get_run(run_id)


def _run_id() -> str:
    current = active_run()
    if current is not None:
        return str(current.info.run_id)
    return str(start_run().info.run_id)  # MLflow starts a run on first log; so do we


# -- logging -------------------------------------------------------------------------------------


def log_param(key: str, value: Any) -> Any:
    return _client_().log_param(_run_id(), key, value)


def log_params(params: Mapping[str, Any]) -> None:
    _client_().log_params(_run_id(), params)


def log_metric(key: str, value: float, step: int | None = None, timestamp: int | None = None) -> None:
    """Buffered: returns at once; stored within the flush interval and always by ``end_run``."""
    _client_().log_metric(_run_id(), key, value, timestamp, step, synchronous=False)


def log_metrics(metrics: Mapping[str, float], step: int | None = None, timestamp: int | None = None) -> None:
    _client_().log_metrics(_run_id(), metrics, step=step, timestamp=timestamp, synchronous=False)


def set_tag(key: str, value: Any) -> None:
    _client_().set_tag(_run_id(), key, value)


def set_tags(tags: Mapping[str, Any]) -> None:
    _client_().backend.runs.set_tags(_run_id(), tags)


def delete_tag(key: str) -> None:
    _client_().delete_tag(_run_id(), key)


def log_artifact(local_path: str | os.PathLike[str], artifact_path: str | None = None) -> None:
    _client_().log_artifact(_run_id(), local_path, artifact_path)


def log_artifacts(local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> None:
    _client_().log_artifacts(_run_id(), local_dir, artifact_path)


def log_text(text: str, artifact_file: str) -> None:
    _client_().log_text(_run_id(), text, artifact_file)


def log_dict(dictionary: Any, artifact_file: str) -> None:
    _client_().log_dict(_run_id(), dictionary, artifact_file)


def log_figure(figure: Any, artifact_file: str) -> None:
    _client_().log_figure(_run_id(), figure, artifact_file)


def list_artifacts(run_id: str | None = None, path: str | None = None) -> list[FileInfo]:
    return _client_().list_artifacts(run_id or _require_active(), path)


def download_artifacts(
    run_id: str | None = None, artifact_path: str = "", dst_path: str | os.PathLike[str] | None = None
) -> str:
    return _client_().download_artifacts(run_id or _require_active(), artifact_path, dst_path)


def flush() -> None:
    _client_().flush()


def _require_active() -> str:
    current = active_run()
    if current is None:
        raise NotFound("no active run; pass run_id")
    return str(current.info.run_id)


# -- search --------------------------------------------------------------------------------------


@overload
def search_runs(
    experiment_ids: Sequence[str] | None = ...,
    filter_string: str = ...,
    run_view_type: ViewType | str = ...,
    max_results: int = ...,
    order_by: Sequence[str] | None = ...,
    output_format: Literal["pandas"] = ...,
    search_all_experiments: bool = ...,
    experiment_names: Sequence[str] | None = ...,
) -> pd.DataFrame: ...


@overload
def search_runs(
    experiment_ids: Sequence[str] | None = ...,
    filter_string: str = ...,
    run_view_type: ViewType | str = ...,
    max_results: int = ...,
    order_by: Sequence[str] | None = ...,
    output_format: Literal["list"] = ...,
    search_all_experiments: bool = ...,
    experiment_names: Sequence[str] | None = ...,
) -> list[Run]: ...


def search_runs(
    experiment_ids: Sequence[str] | None = None,
    filter_string: str = "",
    run_view_type: ViewType | str = ViewType.ACTIVE_ONLY,
    max_results: int = 100_000,
    order_by: Sequence[str] | None = None,
    output_format: str = "pandas",
    search_all_experiments: bool = False,
    experiment_names: Sequence[str] | None = None,
) -> pd.DataFrame | list[Run]:
    """Runs matching ``filter_string``, as a DataFrame (MLflow's default) or a list of ``Run``.

    With no experiments named, searches the current experiment (``set_experiment``), or all of
    them with ``search_all_experiments=True``. Pages are fetched until ``max_results``.
    """
    c = _client_()
    ids = [str(e) for e in (experiment_ids or [])]
    for name in experiment_names or []:
        found = c.get_experiment_by_name(name)
        if found is None:
            raise NotFound(f"no experiment named {name!r}")
        ids.append(found.experiment_id)
    if not ids:
        if search_all_experiments:
            ids = [e.experiment_id for e in c.search_experiments()]
        else:
            current = _experiment_id or c.backend.experiments.get_or_create("Default").experiment_id
            ids = [current]
    if output_format == "pandas":  # columns all the way: no object per logged value
        return columns_to_frame(c.search_run_columns(ids, filter_string, run_view_type, max_results, order_by))
    if output_format != "list":
        raise InvalidInput(f"output_format must be 'pandas' or 'list', got {output_format!r}")
    runs: list[Run] = []
    token: str | None = None
    while len(runs) < max_results:
        page = c.search_runs(ids, filter_string, run_view_type, min(50_000, max_results - len(runs)), order_by, token)
        runs.extend(page)
        token = page.token
        if token is None:
            break
    return runs


# -- process life --------------------------------------------------------------------------------


def _record_error(run_id: str, exc: BaseException) -> None:
    c = _client_()
    message = f"{type(exc).__name__}: {exc}"
    try:
        c.set_tag(run_id, ERROR_TAG, message[:8000])
        c.log_text(run_id, "".join(traceback.format_exception(exc)), TRACEBACK_FILE)
    except Exception:  # recording the failure must never hide the user's exception
        pass


def _install_hooks() -> None:
    global _hooks_installed
    with _lock:
        if _hooks_installed:
            return
        _hooks_installed = True
        previous = sys.excepthook

        def hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
            global _uncaught
            _uncaught = exc
            previous(exc_type, exc, tb)

        sys.excepthook = hook
        atexit.register(_end_runs_at_exit)
        on_sigterm(_end_runs_killed)


def _end_runs_killed() -> None:
    """SIGTERM: the active runs end KILLED, innermost first, each with its buffered metrics."""
    while active_run() is not None:
        end_run(RunStatus.KILLED)


def _end_runs_at_exit() -> None:
    while active_run() is not None:
        current = active_run()
        assert current is not None
        if _uncaught is not None:
            _record_error(current.info.run_id, _uncaught)
            status = RunStatus.KILLED if isinstance(_uncaught, KeyboardInterrupt) else RunStatus.FAILED
        else:
            status = RunStatus.FINISHED
        end_run(status)
