"""``Client``: the explicit, state-free SDK, with ``MlflowClient``'s method names.

Every call takes the run or experiment it acts on; nothing is global. Metrics logged with
``synchronous=False`` go through the background writer and are stored at the latest when the
run is ended with ``set_terminated`` or ``flush`` is called.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelyard.config import Settings
from modelyard.domain.inference import Feedback
from modelyard.domain.search import ViewType
from modelyard.domain.tracking import (
    Experiment,
    FileInfo,
    Metric,
    PagedList,
    Param,
    PurgeReport,
    Run,
    RunColumns,
    RunStatus,
    RunTag,
)
from modelyard.errors import InvalidInput, NotFound
from modelyard.sdk.backends.local import LocalBackend
from modelyard.sdk.backends.opening import open_backend
from modelyard.sdk.capture import capture_environment, capture_source
from modelyard.sdk.encoding import dict_bytes, figure_bytes
from modelyard.sdk.registry import ModelRegistry
from modelyard.sdk.shutdown import on_sigterm
from modelyard.sdk.spool import MetricSpool, ReplayResult, spool_dir
from modelyard.sdk.writer import BackgroundWriter
from modelyard.tracking import DEFAULT_EXPERIMENT_NAME, make_metric
from modelyard.tracking.metrics import check_metric

if TYPE_CHECKING:
    import pandas as pd

_writers: dict[int, BackgroundWriter] = {}
_on_sigterm: dict[int, tuple[BackgroundWriter, Callable[[], None]]] = {}


def _pairs(values: Mapping[str, Any] | Iterable[Param | RunTag] | None) -> dict[str, Any]:
    if values is None:
        return {}
    if isinstance(values, Mapping):
        return dict(values)
    return {item.key: item.value for item in values}


_METRIC_FIELDS = {"key", "value", "step", "timestamp"}


def _metric(item: Metric | Mapping[str, Any], index: int) -> Metric:
    """A checked ``Metric`` from a ``Metric`` or a ``{"key", "value", "step", "timestamp"}`` dict."""
    if isinstance(item, Metric):
        return check_metric(item)
    if not isinstance(item, Mapping):
        raise InvalidInput(
            f"metrics[{index}]: expected a Metric or a dict with 'key' and 'value', got {type(item).__name__}"
        )
    unknown = set(item) - _METRIC_FIELDS
    if unknown or "key" not in item or "value" not in item:
        raise InvalidInput(
            f"metrics[{index}]: a metric dict has 'key' and 'value' (and optionally 'step', 'timestamp'), "
            f"got keys {sorted(map(str, item))}"
        )
    if not isinstance(item["key"], str):
        raise InvalidInput(f"metrics[{index}]: 'key' must be a string, got {item['key']!r}")
    return make_metric(item["key"], item["value"], step=item.get("step", 0), timestamp=item.get("timestamp"))


class Client:
    """Tracking operations on explicit experiments and runs."""

    def __init__(self, settings: Settings | None = None, **overrides: Any) -> None:
        self.settings = settings or Settings.from_env(**overrides)
        self._backend: LocalBackend = open_backend(self.settings)
        key = id(self._backend)
        if key not in _writers:
            _writers[key] = BackgroundWriter(
                self._backend.metrics.log,
                self._backend.runs.heartbeat,
                batch_size=self.settings.metric_batch_size,
                flush_interval_s=self.settings.metric_flush_interval_s,
                heartbeat_interval_s=self.settings.heartbeat_interval_s,
                spool=MetricSpool(spool_dir(self.settings.home, self.settings.store_uri)),
            )
        self._writer = _writers[key]
        self._default_experiment_id: str | None = None

    @property
    def backend(self) -> LocalBackend:
        return self._backend

    @property
    def registry(self) -> ModelRegistry:
        """The model registry on this client's backend, with MlflowClient's registry method names."""
        return ModelRegistry(self._backend)

    # -- experiments -----------------------------------------------------------------------------

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Mapping[str, str] | None = None
    ) -> str:
        return self._backend.experiments.create(name, tags=dict(tags or {}), artifact_location=artifact_location)

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self._backend.experiments.get(experiment_id)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        return self._backend.experiments.get_by_name(name)

    def search_experiments(self, view_type: ViewType | str = ViewType.ACTIVE_ONLY) -> list[Experiment]:
        view = ViewType(view_type)
        return self._backend.experiments.list(
            include_deleted=view is ViewType.ALL, only_deleted=view is ViewType.DELETED_ONLY
        )

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self._backend.experiments.rename(experiment_id, new_name)

    def delete_experiment(self, experiment_id: str) -> None:
        self._backend.experiments.delete(experiment_id)

    def restore_experiment(self, experiment_id: str) -> None:
        self._backend.experiments.restore(experiment_id)

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        self._backend.experiments.set_tag(experiment_id, key, value)

    # -- runs ------------------------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str | None = None,
        start_time: int | None = None,
        tags: Mapping[str, Any] | None = None,
        run_name: str | None = None,
        parent_run_id: str | None = None,
    ) -> Run:
        """Start a RUNNING run (in the Default experiment when none is given) and keep it alive."""

        def start(experiment: str) -> Run:
            return self._backend.runs.create(
                experiment,
                user=self.settings.user,
                run_name=run_name,
                tags=tags,
                parent_run_id=parent_run_id,
                source=capture_source(),
                environment=capture_environment() if self.settings.capture_environment else None,
                start_time=start_time,
            )

        if experiment_id is not None:
            run = start(str(experiment_id))
        else:
            try:
                run = start(self._default_experiment())
            except NotFound:  # the Default this client remembered is gone (the store was recreated)
                self._default_experiment_id = None
                run = start(self._default_experiment())
        self._watch(run.info.run_id)
        return run

    def _default_experiment(self) -> str:
        """The Default experiment's id, looked up (or created) once per client: Default cannot be
        deleted, and runs started without an experiment otherwise paid a transaction each to find
        it by name."""
        if self._default_experiment_id is None:
            self._default_experiment_id = self._backend.experiments.get_or_create(DEFAULT_EXPERIMENT_NAME).experiment_id
        return self._default_experiment_id

    def resume_run(self, run_id: str) -> Run:
        """Make an existing run RUNNING again (MLflow's ``start_run(run_id=…)``) and keep it alive."""
        self._backend.runs.reopen(run_id)
        self._watch(run_id)
        return self._backend.runs.get(run_id)

    def _watch(self, run_id: str) -> None:
        self._writer.watch(run_id)
        key = id(self._writer)  # clients on one store share a writer, and one callback
        entry = _on_sigterm.get(key)
        if entry is None or entry[0] is not self._writer:  # an id can be reused once a writer is gone
            _on_sigterm[key] = (self._writer, self._end_live_runs_killed)
            on_sigterm(self._end_live_runs_killed)

    def _end_live_runs_killed(self) -> None:
        """On SIGTERM: end every run this process keeps alive KILLED, then drain the writer."""
        for run_id in self._writer.live_runs():
            self.set_terminated(run_id, RunStatus.KILLED)
        self._writer.close()

    def get_run(self, run_id: str) -> Run:
        self._writer.flush(run_id)
        return self._backend.runs.get(run_id)

    def set_terminated(self, run_id: str, status: RunStatus | str = "FINISHED", end_time: int | None = None) -> None:
        """End a run, storing every metric still buffered for it in the same transaction."""
        try:
            self._writer.flush_into(
                run_id, lambda pending: self._backend.runs.end(run_id, status, end_time=end_time, metrics=pending)
            )
        finally:
            self._writer.unwatch(run_id)

    def update_run(self, run_id: str, status: RunStatus | str | None = None, name: str | None = None) -> None:
        if name is not None:
            self._backend.runs.rename(run_id, name)
        if status is not None:
            self.set_terminated(run_id, status)

    def delete_run(self, run_id: str) -> None:
        self._backend.runs.delete(run_id)

    def restore_run(self, run_id: str) -> None:
        self._backend.runs.restore(run_id)

    def gc_runs(self, timeout_s: float | None = None) -> list[str]:
        """Store what dead processes spooled, then end as KILLED the runs whose process stopped
        beating; returns their ids."""
        self.replay_spools()
        return self._backend.runs.gc(self.settings.heartbeat_timeout_s if timeout_s is None else timeout_s)

    def purge_deleted_runs(
        self,
        *,
        older_than_ms: int | None = None,
        run_ids: Sequence[str] | None = None,
        experiment_ids: Sequence[str] | None = None,
        dry_run: bool = False,
    ) -> PurgeReport:
        """Remove deleted runs for good (``mlflow gc``): those deleted over ``older_than_ms`` ago
        (any age when ``None``), only ``run_ids`` or runs of ``experiment_ids`` when given. Runs a
        model version, pipeline or kept child run needs stay, listed in the report's ``kept``."""
        return self._backend.purge.purge_deleted(
            older_than_ms=older_than_ms, run_ids=run_ids, experiment_ids=experiment_ids, dry_run=dry_run
        )

    def replay_spools(self) -> ReplayResult:
        """Store the metrics that processes killed before storing them left in their spools."""
        return self._backend.replay_spools()

    # -- logging ---------------------------------------------------------------------------------

    def log_param(self, run_id: str, key: str, value: Any) -> Any:
        self._backend.runs.log_params(run_id, {key: value})
        return value

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        self._backend.runs.log_params(run_id, params)

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: Any,
        timestamp: int | None = None,
        step: int | None = None,
        synchronous: bool = True,
    ) -> None:
        metric = make_metric(key, value, step=step, timestamp=timestamp)
        if synchronous:
            self._backend.metrics.log(run_id, [metric])
        else:
            self._writer.add(run_id, metric)

    def log_metrics(
        self,
        run_id: str,
        metrics: Mapping[str, Any],
        step: int | None = None,
        timestamp: int | None = None,
        synchronous: bool = True,
    ) -> None:
        """Several metrics at one step."""
        batch = [make_metric(k, v, step=step, timestamp=timestamp) for k, v in metrics.items()]
        if synchronous:
            self._backend.metrics.log(run_id, batch)
        else:
            self._writer.add_many(run_id, batch)

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric | Mapping[str, Any]] = (),
        params: Mapping[str, Any] | Iterable[Param] | None = None,
        tags: Mapping[str, Any] | Iterable[RunTag] | None = None,
    ) -> None:
        """Metrics, params and tags in one transaction.

        A metric is a ``Metric`` or a dict with ``key`` and ``value`` (``step`` and ``timestamp``
        optional): ``metrics=[{"key": "loss", "value": 0.3, "step": 1}]``.
        """
        checked = [_metric(item, index) for index, item in enumerate(metrics)]
        self._backend.runs.log_batch(run_id, metrics=checked, params=_pairs(params), tags=_pairs(tags))

    def set_tag(self, run_id: str, key: str, value: Any) -> None:
        self._backend.runs.set_tags(run_id, {key: value})

    def delete_tag(self, run_id: str, key: str) -> None:
        self._backend.runs.delete_tag(run_id, key)

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        self._writer.flush(run_id)
        return self._backend.metrics.history(run_id, key)

    def get_metric_history_frame(self, run_id: str, key: str) -> pd.DataFrame:
        """``key``'s history as a DataFrame (``step``, ``timestamp``, ``value``), in
        ``get_metric_history``'s order, read as columns: no object per point, so a history of
        millions of points loads in about a second (PostgreSQL reads it with a binary ``COPY``)."""
        import pandas as pd

        self._writer.flush(run_id)
        steps, timestamps, values = self._backend.metrics.history_columns(run_id, key)
        return pd.DataFrame({"step": steps, "timestamp": timestamps, "value": values})

    def flush(self) -> None:
        """Store every buffered metric now."""
        self._writer.flush()

    # -- artifacts -------------------------------------------------------------------------------

    def log_artifact(self, run_id: str, local_path: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        self._backend.artifacts.log_file(run_id, local_path, artifact_path)

    def log_artifacts(self, run_id: str, local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        self._backend.artifacts.log_dir(run_id, local_dir, artifact_path)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        self._backend.artifacts.log_bytes(run_id, text.encode("utf-8"), artifact_file)

    def log_dict(self, run_id: str, dictionary: Any, artifact_file: str) -> None:
        self._backend.artifacts.log_bytes(run_id, dict_bytes(dictionary, artifact_file), artifact_file)

    def log_figure(self, run_id: str, figure: Any, artifact_file: str) -> None:
        self._backend.artifacts.log_bytes(run_id, figure_bytes(figure, artifact_file), artifact_file)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        return self._backend.artifacts.list(run_id, path)

    def download_artifacts(self, run_id: str, path: str = "", dst_path: str | os.PathLike[str] | None = None) -> str:
        """Copy an artifact file or folder to ``dst_path`` (a new temporary folder by default)."""
        destination = Path(dst_path) if dst_path is not None else Path(tempfile.mkdtemp(prefix="modelyard-"))
        return str(self._backend.artifacts.download(run_id, path, destination))

    # -- feedback --------------------------------------------------------------------------------

    def log_feedback(self, request_id: str, label: Any) -> Feedback:
        """Record the late ground truth of a served request (its ``x-request-id``); a newer label replaces it."""
        return self._backend.feedback.log(request_id, label)

    def log_feedback_batch(self, labels: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> list[Feedback]:
        """Record many ``request_id -> label`` pairs in one transaction (all or none)."""
        return self._backend.feedback.log_many(labels)

    # -- search ----------------------------------------------------------------------------------

    def search_run_columns(
        self,
        experiment_ids: Sequence[str],
        filter_string: str = "",
        run_view_type: ViewType | str = ViewType.ACTIVE_ONLY,
        max_results: int = 100_000,
        order_by: Sequence[str] | None = None,
    ) -> RunColumns:
        """Up to ``max_results`` matching runs as columns, what ``my.search_runs`` builds its
        DataFrame from."""
        self._writer.flush()
        return self._backend.search.search_columns(
            experiment_ids, filter_string or None, order_by, max_results=max_results, view=run_view_type
        )

    def search_runs(
        self,
        experiment_ids: Sequence[str] | str,
        filter_string: str = "",
        run_view_type: ViewType | str = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        if isinstance(experiment_ids, str):
            experiment_ids = [experiment_ids]
        self._writer.flush()
        return self._backend.search.search(
            experiment_ids,
            filter_string or None,
            order_by,
            max_results=max_results,
            page_token=page_token,
            view=run_view_type,
        )
