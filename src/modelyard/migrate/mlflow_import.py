"""``modelyard import mlflow``: an MLflow store's experiments, runs, models and registry, moved in.

Everything lands through the services, as if it had been logged to modelyard in the first place:
experiments (an existing one of the same name is reused; MLflow's ``Default`` is modelyard's),
runs with their params, tags, status, times and every metric value of every step, their
artifacts, MLflow 3 logged models (copied into ``runs:/<run>/<name>`` and recorded as logged
models with the flavor ``mlflow.<flavor>``), registered models with their versions in order,
version tags, descriptions, stages and aliases. Audit events and lineage are written by the
services as for any other write.

Ids are mapped (``IdMap``), so importing the same store again adds nothing, and an import that
stopped midway resumes. Versions whose model cannot be found (the run was not imported, the
files are gone) are skipped and counted.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelyard.domain.registry import LoggedModel, ModelStage
from modelyard.domain.tracking import LifecycleStage, Metric, RunStatus
from modelyard.errors import AlreadyExists, BackendUnavailable, InvalidInput, NotFound
from modelyard.migrate.mappings import IdMap
from modelyard.migrate.mlflow_source import MlflowSource, reading_errors
from modelyard.models import MLMODEL_FILE, mlflow_flavor
from modelyard.sdk.backends.local import LocalBackend
from modelyard.tracking import DEFAULT_EXPERIMENT_NAME, make_metric

Progress = Callable[[str, int, int], None]
"""Called as ``progress(phase, done, total)`` while an import runs."""

_METRIC_BATCH = 1000
_PARENT_TAG = "mlflow.parentRunId"
_STATUSES = {"FINISHED": RunStatus.FINISHED, "FAILED": RunStatus.FAILED, "KILLED": RunStatus.KILLED}


@dataclass
class ImportSummary:
    """What one import added (a second import of the same store adds nothing)."""

    experiments: int = 0
    runs: int = 0
    params: int = 0
    tags: int = 0
    metric_values: int = 0
    artifact_files: int = 0
    logged_models: int = 0
    registered_models: int = 0
    model_versions: int = 0
    stages: int = 0
    aliases: int = 0
    skipped: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {k: v for k, v in vars(self).items() if isinstance(v, int)}


def _noop(_phase: str, _done: int, _total: int) -> None:
    return None


class MlflowImporter:
    """Import one MLflow store into the store ``backend`` serves."""

    def __init__(
        self, backend: LocalBackend, source: MlflowSource, *, artifacts: bool = True, progress: Progress = _noop
    ) -> None:
        self._backend = backend
        self._source = source
        self._artifacts = artifacts
        self._progress = progress
        self._ids = IdMap(backend.db, source.key)
        self.summary = ImportSummary()

    def run(self) -> ImportSummary:
        experiments = self._source.experiments()
        for experiment in experiments:
            self._experiment(experiment)
        runs = [(e, r) for e in experiments for r in self._source.runs(e.experiment_id)]
        for done, (experiment, run) in enumerate(runs, 1):
            self._run(experiment, run)
            self._progress("runs", done, len(runs))
        models = self._source.logged_models([e.experiment_id for e in experiments])
        for done, model in enumerate(models, 1):
            self._logged_model(model)
            self._progress("logged models", done, len(models))
        registered = self._source.registered_models()
        for done, model in enumerate(registered, 1):
            self._registered_model(model)
            self._progress("registered models", done, len(registered))
        for experiment in experiments:  # deleted last: runs cannot start in a deleted experiment
            target = self._ids.get("experiment", experiment.experiment_id)
            if (
                experiment.lifecycle_stage == "deleted"
                and target is not None
                and self._backend.experiments.get(target).lifecycle_stage is LifecycleStage.ACTIVE
            ):
                self._backend.experiments.delete(target)
        return self.summary

    # -- tracking ------------------------------------------------------------------------------

    def _experiment(self, experiment: Any) -> None:
        if self._ids.get("experiment", experiment.experiment_id) is not None:
            return
        experiments = self._backend.experiments
        if experiment.name == DEFAULT_EXPERIMENT_NAME:
            target = experiments.get_or_create(DEFAULT_EXPERIMENT_NAME).experiment_id
        else:
            found = experiments.get_by_name(experiment.name)
            target = found.experiment_id if found else experiments.create(experiment.name, tags=dict(experiment.tags))
            if found is None:
                self.summary.experiments += 1
        self._ids.put("experiment", experiment.experiment_id, target)

    def _run(self, experiment: Any, run: Any) -> None:
        info, data = run.info, run.data
        if self._ids.get("run", info.run_id) is not None:
            return
        experiment_id = self._ids.get("experiment", experiment.experiment_id)
        assert experiment_id is not None, "experiments are imported before their runs"
        parent = data.tags.get(_PARENT_TAG)
        runs = self._backend.runs
        created = runs.create(
            experiment_id,
            user=info.user_id or self._backend.settings.user,
            run_name=info.run_name or None,
            tags=dict(data.tags),
            parent_run_id=self._ids.get("run", parent) if parent else None,
            start_time=info.start_time or None,
        )
        run_id = created.info.run_id
        if data.params:
            runs.log_params(run_id, dict(data.params))
        self.summary.params += len(data.params)
        self.summary.tags += len(data.tags)
        for key in data.metrics:
            self._metric_history(run_id, info.run_id, key)
        if self._artifacts:
            self._copy_run_artifacts(run_id, info.artifact_uri, experiment.experiment_id)
        status = _STATUSES.get(info.status)
        if status is not None:
            runs.end(run_id, status, end_time=info.end_time or None)
        if info.lifecycle_stage == "deleted":
            runs.delete(run_id)
        self._ids.put("run", info.run_id, run_id)
        self.summary.runs += 1

    def _metric_history(self, run_id: str, source_run_id: str, key: str) -> None:
        history = self._source.metric_history(source_run_id, key)
        batch: list[Metric] = [
            make_metric(m.key, m.value, step=m.step or 0, timestamp=m.timestamp or 0) for m in history
        ]
        for start in range(0, len(batch), _METRIC_BATCH):
            self._backend.metrics.log(run_id, batch[start : start + _METRIC_BATCH])
        self.summary.metric_values += len(batch)

    def _copy_run_artifacts(self, run_id: str, artifact_uri: str, source_experiment_id: str) -> None:
        with tempfile.TemporaryDirectory(prefix="modelyard-import-") as tmp:
            local = self._source.download(artifact_uri, source_experiment_id, Path(tmp) / "artifacts")
            if local is not None:
                self.summary.artifact_files += len(self._backend.artifacts.log_dir(run_id, local))

    # -- models and registry -------------------------------------------------------------------

    def _logged_model(self, model: Any) -> None:
        if self._ids.get("logged_model", model.model_id) is not None:
            return
        run_id = self._ids.get("run", model.source_run_id) if model.source_run_id else None
        if run_id is None:
            run_id = self._holder_run(model)
        if run_id is None:
            self.summary.skipped.append(f"logged model {model.model_id}: its experiment was not imported")
            return
        with tempfile.TemporaryDirectory(prefix="modelyard-import-") as tmp:
            local = self._source.download(model.artifact_location, model.experiment_id, Path(tmp) / "model")
            if local is None:
                self.summary.skipped.append(f"logged model {model.model_id}: no files at {model.artifact_location}")
                return
            flavor = mlflow_flavor(_read(local / MLMODEL_FILE))
            tags = dict(model.tags)
            try:
                upload = self._backend.model_uploads.begin(run_id, model.name or "model", tags=tags)
            except AlreadyExists:  # the run's own artifacts already hold the model's folder
                logged = self._backend.model_uploads.record_existing(run_id, model.name or "model", flavor=flavor)
            else:
                self._backend.artifacts.log_dir(run_id, local, upload.artifact_path)
                logged = self._backend.model_uploads.finish(upload.model_id, flavor=flavor)
        self._ids.put("logged_model", model.model_id, logged.model_id)
        self.summary.logged_models += 1

    def _holder_run(self, model: Any) -> str | None:
        """A run to hold a logged model MLflow logged outside any run."""
        experiment_id = self._ids.get("experiment", model.experiment_id)
        if experiment_id is None:
            return None
        holder = self._backend.runs.create(
            experiment_id, user=self._backend.settings.user, run_name=model.name or "model"
        )
        self._backend.runs.end(holder.info.run_id, RunStatus.FINISHED)
        return holder.info.run_id

    def _registered_model(self, model: Any) -> None:
        name = model.name
        registry = self._backend.registered_models
        if self._ids.get("registered_model", name) is None:
            try:
                registry.create(name, description=model.description or None, tags=dict(model.tags))
                self.summary.registered_models += 1
            except AlreadyExists:
                pass  # a model of that name is already here: the versions are added to it
            self._ids.put("registered_model", name, name)
        for version in self._source.model_versions(name):
            self._version(name, version)
        current = registry.get(name).aliases
        for alias, number in (model.aliases or {}).items():
            target = self._ids.get("model_version", f"{name}/{number}")
            if target is not None and current.get(alias) != int(target.rsplit("/", 1)[1]):
                self._backend.aliases.set(name, alias, target.rsplit("/", 1)[1], reason="imported from MLflow")
                self.summary.aliases += 1

    def _version(self, name: str, version: Any) -> None:
        key = f"{name}/{version.version}"
        if self._ids.get("model_version", key) is not None:
            return
        logged = self._model_of(version)
        if logged is None:
            self.summary.skipped.append(f"model version {key}: its model ({version.source}) was not imported")
            return
        created = self._backend.model_versions.create(
            name, logged.uri, description=version.description or None, tags=dict(version.tags or {})
        )
        stage = ModelStage.parse(version.current_stage or "None")
        if stage is not ModelStage.NONE:
            self._backend.stages.transition(name, created.version, stage, reason="imported from MLflow")
            self.summary.stages += 1
        self._ids.put("model_version", key, f"{name}/{created.version}")
        self.summary.model_versions += 1

    def _model_of(self, version: Any) -> LoggedModel | None:
        """The imported logged model a version registered: by MLflow 3 model id, else the folder
        its source names among its run's artifacts (MLflow 2 models), recorded on first use."""
        model_id = getattr(version, "model_id", None) or _model_id_in(version.source or "")
        if model_id and (mine := self._ids.get("logged_model", model_id)) is not None:
            return self._backend.logged_models.get(mine)
        run_id = self._ids.get("run", version.run_id) if version.run_id else None
        if run_id is None:
            return None
        path = _path_in_run(version.source or "", version.run_id)
        if path is None:
            return None
        try:
            text = self._backend.artifacts.read_bytes(run_id, f"{path}/{MLMODEL_FILE}")
            return self._backend.model_uploads.record_existing(run_id, path, flavor=mlflow_flavor(text))
        except (NotFound, InvalidInput):
            return None


def _model_id_in(source: str) -> str | None:
    """The logged-model id in ``models:/<model id>`` (MLflow 3's source of a version); searches
    return versions without their ``model_id`` field, so the source is read instead."""
    rest = source[len("models:/") :] if source.startswith("models:/") else ""
    return rest if rest and "/" not in rest and "@" not in rest else None


def _path_in_run(source: str, run_id: str) -> str | None:
    """The folder among a run's artifacts a version's source names (``runs:/<id>/<path>`` or a
    location ending in ``<run id>/artifacts/<path>``)."""
    if source.startswith(f"runs:/{run_id}/"):
        return source[len(f"runs:/{run_id}/") :].strip("/") or None
    marker = f"{run_id}/artifacts/"
    if marker in source:
        return source.split(marker, 1)[1].strip("/") or None
    return None


def _read(path: Path) -> bytes | None:
    return path.read_bytes() if path.is_file() else None


def import_mlflow(
    backend: LocalBackend,
    tracking_uri: str,
    *,
    artifacts_root: str | None = None,
    artifacts: bool = True,
    progress: Progress = _noop,
) -> ImportSummary:
    """Import the MLflow store at ``tracking_uri``; see the module docstring for what comes over."""
    source = MlflowSource(tracking_uri, artifacts_root=artifacts_root)
    try:
        return MlflowImporter(backend, source, artifacts=artifacts, progress=progress).run()
    except reading_errors() as exc:
        message = str(getattr(exc, "message", exc)).splitlines()[0]
        raise BackendUnavailable(f"cannot read the MLflow store {tracking_uri!r}: {message}") from exc
