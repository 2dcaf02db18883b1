"""Runs: their life (RUNNING to a final status), params, tags, deletion and dead-process clean-up.

Rules kept here, whatever interface calls:
- a param is written once; the same value again is accepted, another value is ``Conflict``;
- a run in a final status stays there, except KILLED -> FINISHED/FAILED: KILLED only means the
  heartbeat stopped, and a process that was merely paused (a laptop asleep) may still end its run;
  ``reopen`` (MLflow's ``start_run(run_id=…)``) makes any run RUNNING again, on purpose;
- nothing is logged to a deleted run;
- a RUNNING run whose heartbeat is older than the timeout is ended as KILLED by ``gc``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection

from modelyard.clock import SYSTEM_CLOCK, Clock
from modelyard.domain.governance import Permission, Scope
from modelyard.domain.lineage import NodeKind, NodeRef, Relation
from modelyard.domain.tracking import (
    Environment,
    LifecycleStage,
    Metric,
    Run,
    RunData,
    RunInfo,
    RunStatus,
    SourceInfo,
)
from modelyard.errors import Conflict, InvalidInput, NotFound
from modelyard.governance import ActorProvider, actor_provider, audit_append, guarded, require_given
from modelyard.ids import new_run_id
from modelyard.store.artifacts import ArtifactStore
from modelyard.store.db import Database
from modelyard.store.repos import environments as environment_rows
from modelyard.store.repos import experiments as experiment_rows
from modelyard.store.repos import lineage as lineage_rows
from modelyard.store.repos import metrics as metric_rows
from modelyard.store.repos import runs as run_rows
from modelyard.tracking.validation import (
    MAX_RUN_NAME_LENGTH,
    param_value,
    tag_value,
    validate_key,
    validate_name,
)

_ALLOWED_AFTER_KILLED = {RunStatus.FINISHED, RunStatus.FAILED, RunStatus.KILLED}
_NAME_WORDS = ("amber", "brisk", "calm", "deft", "eager", "fond", "glad", "keen", "lucid", "merry", "noble", "proud")
_NAME_NOUNS = ("otter", "heron", "lynx", "finch", "bison", "koala", "raven", "wren", "yak", "seal", "moth", "hare")


def _default_run_name(run_id: str) -> str:
    n = int(run_id[:8], 16)
    return f"{_NAME_WORDS[n % 12]}-{_NAME_NOUNS[(n // 12) % 12]}-{n % 1000:03d}"


def clean_params(params: Mapping[str, Any]) -> dict[str, str]:
    return {validate_key("param", k): param_value(k, v) for k, v in params.items()}


def clean_tags(tags: Mapping[str, Any]) -> dict[str, str]:
    return {validate_key("tag", k): tag_value(k, v) for k, v in tags.items()}


class RunService:
    """Start, end, label and clean up runs."""

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
        self._stored_environments: set[str] = set()  # digests known to be in the store (never deleted)

    # -- life ----------------------------------------------------------------------------------

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
        """Start a RUNNING run in an active experiment."""
        run_id = new_run_id()
        name = validate_name("run", run_name, MAX_RUN_NAME_LENGTH) if run_name else _default_run_name(run_id)
        labels = clean_tags(tags or {})
        now = self._clock.now_ms()
        with guarded(self._db, self._clock) as conn:
            actor = self._actor()
            experiment, found = experiment_rows.get_with_access(conn, str(experiment_id), actor.name)
            if experiment is None:
                raise NotFound(f"no experiment with id {experiment_id!r}")
            scope = Scope.experiment(experiment.experiment_id)
            require_given(conn, actor, Permission.TRACK, scope, found, now_ms=now)
            if experiment.lifecycle_stage is LifecycleStage.DELETED:
                raise Conflict(f"experiment {experiment.name!r} is deleted; restore it before starting runs in it")
            if parent_run_id is not None:
                parent = run_rows.get_info(conn, parent_run_id)
                if parent is None:
                    raise NotFound(f"no parent run with id {parent_run_id!r}")
            if environment is not None and environment.digest not in self._stored_environments:
                environment_rows.put(
                    conn,
                    digest=environment.digest,
                    python_version=environment.python_version,
                    platform=environment.platform,
                    packages=environment.packages,
                )
            info = RunInfo(
                run_id=run_id,
                experiment_id=experiment.experiment_id,
                run_name=name,
                user=user,
                status=RunStatus.RUNNING,
                start_time=start_time or now,
                end_time=None,
                heartbeat_time=now,
                lifecycle_stage=LifecycleStage.ACTIVE,
                artifact_uri=f"{experiment.artifact_location}/{run_id}/artifacts",
                parent_run_id=parent_run_id,
                source=source or SourceInfo(),
                environment_digest=environment.digest if environment else None,
            )
            run_rows.insert(conn, info)
            run_rows.upsert_tags(conn, run_id, labels)
            self._audit(conn, "run.created", run_id, {"experiment_id": info.experiment_id, "user": user}, now)
            if parent_run_id is not None:
                lineage_rows.add(
                    conn,
                    NodeRef(kind=NodeKind.RUN, id=parent_run_id),
                    NodeRef(kind=NodeKind.RUN, id=run_id),
                    Relation.PARENT,
                    now_ms=now,
                )
        if environment is not None:
            self._stored_environments.add(environment.digest)  # committed: no need to upsert it again
        return Run(info=info, data=RunData(tags=labels))

    def get(self, run_id: str) -> Run:
        with self._db.read() as conn:
            found = run_rows.get_many(conn, [run_id])
        if not found:
            raise NotFound(f"no run with id {run_id!r}")
        return found[0]

    def resolve_id(self, run_id_or_prefix: str) -> str:
        """A full run id from itself or a unique prefix of at least 4 hex digits (as tables show)."""
        with self._db.read() as conn:
            return run_rows.resolve_id(conn, run_id_or_prefix)

    def get_many(self, run_ids: Sequence[str]) -> list[Run]:
        with self._db.read() as conn:
            return run_rows.get_many(conn, run_ids)

    def end(
        self,
        run_id: str,
        status: RunStatus | str = RunStatus.FINISHED,
        *,
        end_time: int | None = None,
        metrics: Sequence[Metric] = (),
    ) -> None:
        """Move a run to a final status (see the module rules for which moves are allowed),
        storing ``metrics`` (the last ones the SDK buffered) in the same transaction."""
        target = _status(status)
        with guarded(self._db, self._clock) as conn:
            info = self._require_trackable(conn, run_id, for_update=True)
            if metrics:
                if info.lifecycle_stage is LifecycleStage.DELETED:
                    raise Conflict(f"run {run_id} is deleted; restore it before logging to it")
                metric_rows.insert(conn, run_id, metrics)
            if info.status is target and target.is_terminal:
                return
            if info.status.is_terminal and not (info.status is RunStatus.KILLED and target in _ALLOWED_AFTER_KILLED):
                raise Conflict(f"run {run_id} already ended as {info.status.value}; it cannot become {target.value}")
            ended = None if target is RunStatus.RUNNING else (end_time or self._clock.now_ms())
            run_rows.set_status(conn, run_id, target, end_time=ended)
            self._audit(conn, "run.ended", run_id, {"from": info.status.value, "to": target.value})

    def reopen(self, run_id: str) -> None:
        """Make a run RUNNING again to log more to it; its end time is cleared."""
        with guarded(self._db, self._clock) as conn:
            info = self._require_writable(conn, run_id)
            run_rows.set_status(conn, run_id, RunStatus.RUNNING, end_time=None)
            run_rows.set_heartbeat(conn, [run_id], self._clock.now_ms())
            self._audit(conn, "run.reopened", run_id, {"from": info.status.value})

    def heartbeat(self, run_ids: Sequence[str]) -> None:
        """Say the processes owning these runs are alive."""
        if run_ids:
            with self._db.begin() as conn:
                run_rows.set_heartbeat(conn, run_ids, self._clock.now_ms())

    def gc(self, timeout_s: float) -> list[str]:
        """End as KILLED every RUNNING run whose heartbeat is older than ``timeout_s``; their ids."""
        cutoff = self._clock.now_ms() - int(timeout_s * 1000)
        with self._db.read() as conn:
            stale = run_rows.stale_running(conn, cutoff)
        if not stale:
            return []
        with self._db.begin() as conn:
            still_stale = run_rows.stale_running(conn, cutoff)
            run_rows.mark_killed(conn, still_stale, self._clock.now_ms())
            infos = [run_rows.get_info(conn, rid) for rid in still_stale]
            for rid in still_stale:
                self._audit(conn, "run.ended", rid, {"from": "RUNNING", "to": "KILLED", "why": "no heartbeat"})
        for info in infos:
            if info is not None:
                self._artifacts.remove_partials(info.artifact_uri)
        return still_stale

    # -- data ----------------------------------------------------------------------------------

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        clean = clean_params(params)
        with guarded(self._db, self._clock) as conn:
            self._require_writable(conn, run_id)
            self._insert_params(conn, run_id, clean)
            self._audit(conn, "run.params_logged", run_id, {"params": clean})

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        clean = clean_tags(tags)
        with guarded(self._db, self._clock) as conn:
            self._require_writable(conn, run_id)
            run_rows.upsert_tags(conn, run_id, clean)
            if clean:
                self._audit(conn, "run.tags_set", run_id, {"tags": clean})

    def delete_tag(self, run_id: str, key: str) -> None:
        with guarded(self._db, self._clock) as conn:
            self._require_writable(conn, run_id)
            if not run_rows.delete_tag(conn, run_id, key):
                raise NotFound(f"run {run_id} has no tag {key!r}")
            self._audit(conn, "run.tag_deleted", run_id, {"key": key})

    def log_batch(
        self,
        run_id: str,
        *,
        metrics: Sequence[Metric] = (),
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> None:
        """Params, tags and metrics in one transaction: all stored, or none."""
        clean_p = clean_params(params or {})
        clean_t = clean_tags(tags or {})
        with guarded(self._db, self._clock) as conn:
            self._require_writable(conn, run_id)
            self._insert_params(conn, run_id, clean_p)
            if clean_p:
                self._audit(conn, "run.params_logged", run_id, {"params": clean_p})
            run_rows.upsert_tags(conn, run_id, clean_t)
            if clean_t:
                self._audit(conn, "run.tags_set", run_id, {"tags": clean_t})
            metric_rows.insert(conn, run_id, metrics)

    def rename(self, run_id: str, name: str) -> None:
        validate_name("run", name, MAX_RUN_NAME_LENGTH)
        with guarded(self._db, self._clock) as conn:
            info = self._require_trackable(conn, run_id)
            run_rows.set_name(conn, run_id, name)
            self._audit(conn, "run.renamed", run_id, {"from": info.run_name, "to": name})

    def delete(self, run_id: str) -> None:
        """Soft-delete: hidden from searches, restorable until ``RunPurgeService`` removes it for good
        (the deletion time recorded here is the age ``runs gc --deleted-older-than`` compares)."""
        with guarded(self._db, self._clock) as conn:
            self._require_trackable(conn, run_id)
            run_rows.set_lifecycle(conn, run_id, LifecycleStage.DELETED, now_ms=self._clock.now_ms())
            self._audit(conn, "run.deleted", run_id, {})

    def restore(self, run_id: str) -> None:
        with guarded(self._db, self._clock) as conn:
            self._require_trackable(conn, run_id)
            run_rows.set_lifecycle(conn, run_id, LifecycleStage.ACTIVE, now_ms=self._clock.now_ms())
            self._audit(conn, "run.restored", run_id, {})

    def children(self, run_id: str) -> list[str]:
        with self._db.read() as conn:
            return run_rows.children(conn, run_id)

    # -- helpers -------------------------------------------------------------------------------

    def _audit(
        self, conn: Connection, action: str, run_id: str, details: dict[str, Any], now: int | None = None
    ) -> None:
        """Append the change to the audit trail in the transaction that makes it."""
        now_ms = self._clock.now_ms() if now is None else now
        audit_append(conn, self._actor(), action, "run", run_id, details, now_ms=now_ms)

    @staticmethod
    def _insert_params(conn: Connection, run_id: str, params: dict[str, str]) -> None:
        clashes = run_rows.insert_params(conn, run_id, params)
        if clashes:
            first = clashes[0]
            raise Conflict(
                f"param {first.key!r} of run {run_id} is already {first.stored!r}; params are immutable, "
                f"so it cannot become {first.given!r} (log a new run, or use a tag or metric for values that change)",
                keys=[c.key for c in clashes],
            )

    def _require_trackable(self, conn: Connection, run_id: str, *, for_update: bool = False) -> RunInfo:
        """The run, once the actor may track in its experiment (both read in one round trip)."""
        actor = self._actor()
        info, found = run_rows.get_info_with_access(conn, run_id, actor.name, for_update=for_update)
        if info is None:
            raise NotFound(f"no run with id {run_id!r}")
        scope = Scope.experiment(info.experiment_id)
        require_given(conn, actor, Permission.TRACK, scope, found, now_ms=self._clock.now_ms())
        return info

    def _require_writable(self, conn: Connection, run_id: str) -> RunInfo:
        info = self._require_trackable(conn, run_id)
        if info.lifecycle_stage is LifecycleStage.DELETED:
            raise Conflict(f"run {run_id} is deleted; restore it before logging to it")
        return info


def _status(status: RunStatus | str) -> RunStatus:
    try:
        return status if isinstance(status, RunStatus) else RunStatus(str(status).upper())
    except ValueError:
        raise InvalidInput(
            f"unknown run status {status!r}; use one of {', '.join(s.value for s in RunStatus)}"
        ) from None
