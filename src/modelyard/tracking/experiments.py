"""Experiments: named groups of runs, soft-deleted and restorable."""

from __future__ import annotations

from sqlalchemy import Connection

from modelyard.clock import SYSTEM_CLOCK, Clock
from modelyard.domain.governance import Permission, Scope
from modelyard.domain.tracking import Experiment, LifecycleStage
from modelyard.errors import AlreadyExists, Conflict, NotFound
from modelyard.governance import ActorProvider, actor_provider, audit_append, guarded, require
from modelyard.store.artifacts import ArtifactStore
from modelyard.store.db import Database
from modelyard.store.repos import experiments as rows
from modelyard.tracking.validation import MAX_EXPERIMENT_NAME_LENGTH, tag_value, validate_key, validate_name

DEFAULT_EXPERIMENT_NAME = "Default"


class ExperimentService:
    """Create, find, rename, delete and restore experiments."""

    def __init__(
        self,
        db: Database,
        artifacts: ArtifactStore,
        clock: Clock = SYSTEM_CLOCK,
        *,
        actor: ActorProvider | str | None = None,
    ) -> None:
        self._db = db
        self._artifacts = artifacts
        self._clock = clock
        self._actor = actor_provider(actor)

    def create(self, name: str, *, tags: dict[str, str] | None = None, artifact_location: str | None = None) -> str:
        """Create an experiment and return its id; a taken name is ``AlreadyExists``."""
        validate_name("experiment", name, MAX_EXPERIMENT_NAME_LENGTH)
        clean_tags = {validate_key("tag", k): tag_value(k, v) for k, v in (tags or {}).items()}
        with guarded(self._db, self._clock) as conn:
            require(conn, self._actor(), Permission.TRACK, now_ms=self._clock.now_ms())
            experiment_id = rows.insert(
                conn, name=name, artifact_location=artifact_location or "", now_ms=self._clock.now_ms()
            )
            if not artifact_location:
                rows.set_artifact_location(conn, experiment_id, f"{self._artifacts.root_uri}/{experiment_id}")
            for key, value in clean_tags.items():
                rows.set_tag(conn, experiment_id, key, value)
            self._audit(conn, "experiment.created", experiment_id, {"name": name})
        return experiment_id

    def get(self, experiment_id: str) -> Experiment:
        with self._db.read() as conn:
            experiment = rows.get(conn, str(experiment_id))
        if experiment is None:
            raise NotFound(f"no experiment with id {experiment_id!r}")
        return experiment

    def get_by_name(self, name: str) -> Experiment | None:
        """The experiment called ``name``, or ``None`` (MLflow returns None here too)."""
        with self._db.read() as conn:
            return rows.get_by_name(conn, name)

    def resolve(self, name_or_id: str) -> Experiment:
        """An experiment by name, or by id when no experiment has that name."""
        found = self.get_by_name(name_or_id)
        if found is not None:
            return found
        if name_or_id.isdigit():
            return self.get(name_or_id)
        raise NotFound(f"no experiment named {name_or_id!r}")

    def get_or_create(self, name: str) -> Experiment:
        """The active experiment called ``name``, created if missing; a deleted one is ``Conflict``."""
        experiment = self.get_by_name(name)
        if experiment is None:
            try:
                return self.get(self.create(name))
            except AlreadyExists:
                experiment = self.get_by_name(name)  # another process created it first
                if experiment is None:
                    raise
        if experiment.lifecycle_stage is LifecycleStage.DELETED:
            raise Conflict(
                f"experiment {name!r} is deleted; restore it "
                f"(`modelyard experiments restore {experiment.experiment_id}`) or use another name"
            )
        return experiment

    def list(self, *, include_deleted: bool = False, only_deleted: bool = False) -> list[Experiment]:
        if only_deleted:
            stages = [LifecycleStage.DELETED]
        elif include_deleted:
            stages = [LifecycleStage.ACTIVE, LifecycleStage.DELETED]
        else:
            stages = [LifecycleStage.ACTIVE]
        with self._db.read() as conn:
            return rows.list_all(conn, stages=stages)

    def rename(self, experiment_id: str, new_name: str) -> None:
        validate_name("experiment", new_name, MAX_EXPERIMENT_NAME_LENGTH)
        with guarded(self._db, self._clock) as conn:
            experiment = self._require_trackable(conn, experiment_id)
            rows.update_fields(conn, experiment_id, now_ms=self._clock.now_ms(), name=new_name)
            self._audit(conn, "experiment.renamed", experiment_id, {"from": experiment.name, "to": new_name})

    def delete(self, experiment_id: str) -> None:
        """Soft-delete: hidden from listings, runs kept, restorable."""
        with guarded(self._db, self._clock) as conn:
            experiment = self._require_trackable(conn, experiment_id)
            if experiment.name == DEFAULT_EXPERIMENT_NAME:
                raise Conflict("the Default experiment cannot be deleted")
            rows.update_fields(
                conn, experiment_id, now_ms=self._clock.now_ms(), lifecycle_stage=LifecycleStage.DELETED.value
            )
            self._audit(conn, "experiment.deleted", experiment_id, {"name": experiment.name})

    def restore(self, experiment_id: str) -> None:
        with guarded(self._db, self._clock) as conn:
            self._require_trackable(conn, experiment_id)
            rows.update_fields(
                conn, experiment_id, now_ms=self._clock.now_ms(), lifecycle_stage=LifecycleStage.ACTIVE.value
            )
            self._audit(conn, "experiment.restored", experiment_id, {})

    def set_tag(self, experiment_id: str, key: str, value: str) -> None:
        validate_key("tag", key)
        with guarded(self._db, self._clock) as conn:
            self._require_trackable(conn, experiment_id)
            clean = tag_value(key, value)
            rows.set_tag(conn, experiment_id, key, clean)
            self._audit(conn, "experiment.tag_set", experiment_id, {"key": key, "value": clean})

    def _audit(self, conn: Connection, action: str, experiment_id: str, details: dict[str, str]) -> None:
        """Append the change to the audit trail in the transaction that makes it."""
        audit_append(conn, self._actor(), action, "experiment", experiment_id, details, now_ms=self._clock.now_ms())

    def _require_trackable(self, conn: Connection, experiment_id: str) -> Experiment:
        """The experiment, when the actor may change it (``track`` on it, or globally)."""
        experiment = self._require(conn, experiment_id)
        scope = Scope.experiment(experiment.experiment_id)
        require(conn, self._actor(), Permission.TRACK, scope, now_ms=self._clock.now_ms())
        return experiment

    def _require(self, conn: Connection, experiment_id: str) -> Experiment:
        experiment = rows.get(conn, str(experiment_id))
        if experiment is None:
            raise NotFound(f"no experiment with id {experiment_id!r}")
        return experiment
