"""Purging deleted runs: a soft deletion made permanent, as ``mlflow gc`` does, with governance.

``RunPurgeService.purge_deleted`` removes runs in the DELETED stage for good: their params, tags,
metric history and latest values, dataset inputs, logged models that nothing registered, the
lineage edges that name them, their import mappings, the run rows, then their folders in the
artifact store. Rules kept here, whatever interface calls:

- only deleted runs, and with ``older_than_ms`` only those deleted longer ago than that (deletion
  records the time; runs deleted before migration 0016 count as deleted at the migration);
- a run stays, reported with the reason, while anything downstream needs it to answer "where did
  this prediction come from": a model version registered from it (even one since deleted: the
  lineage edge remains), another record using a model or dataset it produced, a pipeline run or
  cache entry that refers to it, or a child run that itself stays;
- purging needs what deleting needs, ``track`` on the run's experiment; a sweep leaves runs of
  experiments the actor may not change (reported), naming them explicitly is refused;
- each purged run gets one ``run.purged`` audit event, in the transaction that removes its rows.

Runs go in batches (children before their parents), one transaction per batch, each table
emptied of the batch by one statement. Artifacts are removed after the batch commits: a failure
there leaves orphan files (reported), never rows pointing at missing files.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import Connection

from modelyard.clock import SYSTEM_CLOCK, Clock
from modelyard.domain.governance import Permission, Scope
from modelyard.domain.tracking import KeptRun, LifecycleStage, PurgeReport
from modelyard.errors import InvalidInput, NotFound, PermissionDenied
from modelyard.governance import ActorProvider, actor_provider, audit_append_many, guarded, require
from modelyard.store.artifacts import ArtifactStore
from modelyard.store.db import Database
from modelyard.store.repos import run_purge as purge_rows
from modelyard.store.repos import runs as run_rows

DEFAULT_BATCH = 500
ARTIFACT_THREADS = 8


class RunPurgeService:
    """Remove deleted runs for good, keeping those lineage still needs."""

    def __init__(
        self,
        db: Database,
        artifacts: ArtifactStore,
        clock: Clock = SYSTEM_CLOCK,
        *,
        actor: ActorProvider | str | None = None,
        batch_size: int = DEFAULT_BATCH,
    ) -> None:
        self._db = db
        self._artifacts = artifacts
        self._clock = clock
        self._actor = actor_provider(actor)
        self._batch = batch_size

    def purge_deleted(
        self,
        *,
        older_than_ms: int | None = None,
        run_ids: Sequence[str] | None = None,
        experiment_ids: Sequence[str] | None = None,
        dry_run: bool = False,
    ) -> PurgeReport:
        """Purge the deleted runs (deleted over ``older_than_ms`` ago when given; only ``run_ids``
        or those of ``experiment_ids`` when given); ``dry_run`` reports without removing."""
        if older_than_ms is not None and older_than_ms < 0:
            raise InvalidInput(f"the deletion age must not be negative, got {older_than_ms} ms")
        for experiment_id in experiment_ids or ():
            if not str(experiment_id).isdigit():
                raise NotFound(f"no experiment with id {experiment_id!r}")
        cutoff = None if older_than_ms is None else self._clock.now_ms() - older_than_ms
        explicit = run_ids is not None
        kept: list[KeptRun] = []
        with self._db.read() as conn:
            found = purge_rows.candidates(conn, cutoff_ms=cutoff, run_ids=run_ids, experiment_ids=experiment_ids)
            if run_ids is not None:
                kept += _not_candidates(conn, run_ids, {run_id for run_id, _ in found}, older_than_ms)
        purged: list[str] = []
        rows: dict[str, int] = {}
        freed = 0
        errors: list[str] = []
        counted_edges: set[int] = set()
        gone: set[str] = set()
        for batch in _batches(_children_first(found), self._batch):
            done, held, counts, folders = self._purge_batch(
                batch, cutoff, gone, counted_edges, explicit=explicit, dry_run=dry_run
            )
            purged += done
            gone.update(done)
            kept += held
            for table, n in counts.items():
                rows[table] = rows.get(table, 0) + n
            sizes = self._folders(folders, dry_run=dry_run)
            freed += sum(size for size in sizes.values() if size is not None)
            errors += [run_id for run_id, size in sizes.items() if size is None]
        return PurgeReport(
            purged=purged, kept=kept, rows_removed=rows, artifact_bytes=freed, artifact_errors=errors, dry_run=dry_run
        )

    def _purge_batch(
        self,
        batch: Sequence[str],
        cutoff: int | None,
        gone: set[str],
        counted_edges: set[int],
        *,
        explicit: bool,
        dry_run: bool,
    ) -> tuple[list[str], list[KeptRun], dict[str, int], list[tuple[str, str]]]:
        """One transaction: lock the batch's runs, decide which stay, remove (or count) the rest."""
        now = self._clock.now_ms()
        actor = self._actor()
        with guarded(self._db, self._clock) as conn:
            runs = purge_rows.lock(conn, batch, cutoff_ms=cutoff)  # a run restored meanwhile drops out
            reasons = self._not_permitted(conn, {r.experiment_id for r in runs}, explicit=explicit, now=now)
            stays = {r.run_id: reasons[r.experiment_id] for r in runs if r.experiment_id in reasons}
            for run_id, reason in purge_rows.holds(conn, [r.run_id for r in runs if r.run_id not in stays]).items():
                stays.setdefault(run_id, reason)
            batch_ids = [r.run_id for r in runs]
            _keep_parents_of_staying(stays, purge_rows.children(conn, batch_ids), gone | set(batch_ids))
            going = [r for r in runs if r.run_id not in stays]
            counts = purge_rows.remove(conn, [r.run_id for r in going], dry_run=dry_run, counted_edges=counted_edges)
            if not dry_run:
                purged = [
                    (
                        r.run_id,
                        {"experiment_id": r.experiment_id, "run_name": r.run_name, "artifact_uri": r.artifact_uri},
                    )
                    for r in going
                ]
                audit_append_many(conn, actor, "run.purged", "run", purged, now_ms=now)
        held = [KeptRun(run_id=r.run_id, reason=stays[r.run_id]) for r in runs if r.run_id in stays]
        folders = [(r.run_id, _run_folder(r.run_id, r.artifact_uri)) for r in going]
        return [r.run_id for r in going], held, counts, folders

    def _folders(self, folders: Sequence[tuple[str, str]], *, dry_run: bool) -> dict[str, int | None]:
        """Each run folder's size, removed unless ``dry_run``; ``None`` where that failed. Threads
        overlap the calls: each is a file-system or object-store round trip, not CPU work."""

        def one(folder: str) -> int | None:
            try:
                return self._artifacts.tree_size(folder) if dry_run else self._artifacts.remove_tree(folder)
            except OSError:
                return None

        with ThreadPoolExecutor(max_workers=ARTIFACT_THREADS) as pool:
            return dict(zip((run_id for run_id, _ in folders), pool.map(one, [f for _, f in folders]), strict=True))

    def _not_permitted(
        self, conn: Connection, experiment_ids: Iterable[str], *, explicit: bool, now: int
    ) -> dict[str, str]:
        """Experiments the actor may not change, with the reason; named runs are refused instead."""
        refused: dict[str, str] = {}
        for experiment_id in sorted(experiment_ids):
            try:
                require(conn, self._actor(), Permission.TRACK, Scope.experiment(experiment_id), now_ms=now)
            except PermissionDenied:
                if explicit:
                    raise
                refused[experiment_id] = f"needs the track permission on experiment {experiment_id}"
        return refused


def _audited(run: purge_rows.Purgeable) -> dict[str, Any]:
    """What a ``run.purged`` event keeps of the run: enough to say what was removed."""
    return {"experiment_id": run.experiment_id, "run_name": run.run_name, "artifact_uri": run.artifact_uri}


def _not_candidates(
    conn: Connection, run_ids: Sequence[str], candidates: set[str], older_than_ms: int | None
) -> list[KeptRun]:
    """Why runs named explicitly are not purged: not deleted, or deleted too recently."""
    kept = []
    for run_id in dict.fromkeys(run_ids):
        if run_id in candidates:
            continue
        info = run_rows.get_info(conn, run_id)
        if info is None:
            raise NotFound(f"no run with id {run_id!r}")
        if info.lifecycle_stage is not LifecycleStage.DELETED:
            kept.append(KeptRun(run_id=run_id, reason="it is not deleted (delete it first)"))
        else:
            kept.append(KeptRun(run_id=run_id, reason=f"deleted less than {_age(older_than_ms or 0)} ago"))
    return kept


def _keep_parents_of_staying(stays: dict[str, str], pairs: list[tuple[str, str]], going: set[str]) -> None:
    """A parent stays while any child stays: its row is that child's parent. ``going`` holds the
    runs purged by earlier batches and this batch's runs; those of the batch in ``stays`` stay."""
    changed = True
    while changed:
        changed = False
        for parent, child in pairs:
            if parent not in stays and (child in stays or child not in going):
                stays[parent] = f"its child run {child} stays"
                changed = True


def _children_first(found: list[tuple[str, str | None]]) -> list[str]:
    """Run ids ordered so each comes before its parent (deepest first), so a parent and its
    children go in one batch or the children in an earlier one."""
    parents = dict(found)
    depth: dict[str, int] = {}

    def depth_of(run_id: str) -> int:
        seen = []
        node: str | None = run_id
        while node is not None and node in parents and node not in depth and node not in seen:
            seen.append(node)
            node = parents[node]
        base = depth.get(node, 0) if node is not None else 0
        for offset, member in enumerate(reversed(seen), start=1):
            depth[member] = base + offset
        return depth[run_id]

    return sorted(parents, key=lambda run_id: (-depth_of(run_id), run_id))


def _age(ms: int) -> str:
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms >= size:
            return f"{ms / size:g}{unit}"
    return f"{ms}ms"


def _batches(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _run_folder(run_id: str, artifact_uri: str) -> str:
    """The run's own folder: ``…/<run_id>`` when artifacts sit in ``…/<run_id>/artifacts``
    (the layout modelyard and MLflow write), else the artifact folder itself."""
    uri = artifact_uri.rstrip("/")
    suffix = f"/{run_id}/artifacts"
    return uri[: -len("/artifacts")] if uri.endswith(suffix) else uri
