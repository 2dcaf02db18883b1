"""Hard deletion of deleted runs: which may go, what holds the others, and set-based removal.

Every statement takes a batch of run ids (an ``expanding`` IN list; the service sends a few hundred
at a time), so purging 100,000 runs is a few statements per table per batch, never a loop over
rows. ``remove`` deletes children before parents (metrics, params, tags, inputs, logged models,
lineage edges, import mappings, then the runs), so it runs with SQLite's foreign keys on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BindParameter, Connection, bindparam, text

from modelyard.domain.tracking import LifecycleStage

_DELETED = LifecycleStage.DELETED.value


@dataclass(frozen=True, kw_only=True)
class Purgeable:
    """A deleted run's row as the purge needs it."""

    run_id: str
    experiment_id: str
    parent_run_id: str | None
    artifact_uri: str
    run_name: str


def _age_clause(cutoff_ms: int | None) -> str:
    # NULL: a run written as deleted without a deletion time (an import) counts as old enough.
    return "" if cutoff_ms is None else " AND (deleted_time IS NULL OR deleted_time <= :cutoff)"


def candidates(
    conn: Connection,
    *,
    cutoff_ms: int | None,
    run_ids: Sequence[str] | None = None,
    experiment_ids: Sequence[str] | None = None,
) -> list[tuple[str, str | None]]:
    """(run id, parent run id) of the deleted runs deleted at or before ``cutoff_ms`` (any time
    when ``None``), optionally only those of ``run_ids`` or of ``experiment_ids``."""
    sql = f"SELECT run_id, parent_run_id FROM runs WHERE lifecycle_stage = :deleted{_age_clause(cutoff_ms)}"
    values: dict[str, object] = {"deleted": _DELETED, "cutoff": cutoff_ms}
    binds: list[BindParameter[Any]] = []
    if run_ids is not None:
        sql += " AND run_id IN :ids"
        values["ids"] = list(run_ids)
        binds.append(bindparam("ids", expanding=True))
    if experiment_ids is not None:
        sql += " AND experiment_id IN :experiments"
        values["experiments"] = [int(e) for e in experiment_ids]
        binds.append(bindparam("experiments", expanding=True))
    if cutoff_ms is None:
        del values["cutoff"]
    statement = text(sql + " ORDER BY run_id").bindparams(*binds)
    return [(row[0], row[1]) for row in conn.execute(statement, values)]


def lock(conn: Connection, run_ids: Sequence[str], *, cutoff_ms: int | None) -> list[Purgeable]:
    """The runs of ``run_ids`` that are still deleted (and old enough), locked on PostgreSQL so a
    restore in another transaction waits for this one (SQLite's write transaction excludes it)."""
    sql = (
        "SELECT run_id, experiment_id, parent_run_id, artifact_uri, run_name FROM runs "
        f"WHERE run_id IN :ids AND lifecycle_stage = :deleted{_age_clause(cutoff_ms)} ORDER BY run_id"
    )
    if conn.dialect.name == "postgresql":
        sql += " FOR UPDATE"
    values: dict[str, object] = {"ids": list(run_ids), "deleted": _DELETED}
    if cutoff_ms is not None:
        values["cutoff"] = cutoff_ms
    rows = conn.execute(text(sql).bindparams(bindparam("ids", expanding=True)), values)
    return [
        Purgeable(run_id=r[0], experiment_id=str(r[1]), parent_run_id=r[2], artifact_uri=r[3], run_name=r[4])
        for r in rows
    ]


# What keeps a deleted run: (reason template, statement returning run id and the reason's values).
_HOLDS: tuple[tuple[str, str], ...] = (
    (
        "model version {}/{} was registered from it",
        "SELECT lm.run_id, mv.name, mv.version FROM logged_models lm "
        "JOIN model_versions mv ON mv.model_id = lm.model_id WHERE lm.run_id IN :ids",
    ),
    (
        "its logged model {} is used downstream ({} -> {} {})",
        "SELECT lm.run_id, lm.model_id, d.relation, d.target_kind, d.target_id FROM logged_models lm "
        "JOIN lineage_edges d ON d.source_kind = 'logged_model' AND d.source_id = lm.model_id "
        "WHERE lm.run_id IN :ids",
    ),
    (
        "its output {} {} is used downstream ({} -> {} {})",
        "SELECT p.source_id, p.target_kind, p.target_id, d.relation, d.target_kind, d.target_id "
        "FROM lineage_edges p JOIN lineage_edges d ON d.source_kind = p.target_kind AND d.source_id = p.target_id "
        "WHERE p.source_kind = 'run' AND p.relation = 'produced' AND p.target_kind != 'logged_model' "
        "AND p.source_id IN :ids",
    ),
    ("it records pipeline run {}", "SELECT run_id, run_id FROM pipeline_runs WHERE run_id IN :ids"),
    (
        "it is step {} of pipeline run {}",
        "SELECT run_id, step_id, pipeline_run_id FROM pipeline_step_runs WHERE run_id IN :ids",
    ),
    (
        "pipeline cache entry {} points at its outputs",
        "SELECT run_id, cache_key FROM pipeline_cache_entries WHERE run_id IN :ids",
    ),
)
_CHILDREN = "SELECT parent_run_id, run_id FROM runs WHERE parent_run_id IN :ids ORDER BY run_id"


def holds(conn: Connection, run_ids: Sequence[str]) -> dict[str, str]:
    """Why each of ``run_ids`` that must stay stays (the first reason found), whatever its children:
    a model version or another downstream record needs what it made, or a pipeline refers to it."""
    found: dict[str, str] = {}
    if not run_ids:
        return found
    values = {"ids": list(run_ids)}
    for template, sql in _HOLDS:
        for row in conn.execute(text(sql).bindparams(bindparam("ids", expanding=True)), values):
            found.setdefault(row[0], template.format(*row[1:]))
    return found


def children(conn: Connection, run_ids: Sequence[str]) -> list[tuple[str, str]]:
    """(parent, child) for every run whose parent is one of ``run_ids``."""
    if not run_ids:
        return []
    statement = text(_CHILDREN).bindparams(bindparam("ids", expanding=True))
    return [(row[0], row[1]) for row in conn.execute(statement, {"ids": list(run_ids)})]


# (label, statement) in removal order; ``:ids`` are the runs, ``:models`` their logged models' ids.
_MODELS = (
    "SELECT model_id FROM logged_models WHERE run_id IN :ids "
    "UNION SELECT model_id FROM logged_model_uploads WHERE run_id IN :ids"
)
_RUN_EDGES = "(source_kind = 'run' AND source_id IN :ids) OR (target_kind = 'run' AND target_id IN :ids)"
_MODEL_EDGES = (
    " OR (source_kind = 'logged_model' AND source_id IN :models)"
    " OR (target_kind = 'logged_model' AND target_id IN :models)"
)
_REMOVE: tuple[tuple[str, str], ...] = (
    ("metrics", "FROM metrics WHERE run_id IN :ids"),
    ("latest_metrics", "FROM latest_metrics WHERE run_id IN :ids"),
    ("params", "FROM params WHERE run_id IN :ids"),
    ("tags", "FROM tags WHERE run_id IN :ids"),
    ("run_inputs", "FROM run_inputs WHERE run_id IN :ids"),
    ("logged_model_tags", "FROM logged_model_tags WHERE model_id IN :models"),
    ("logged_model_uploads", "FROM logged_model_uploads WHERE run_id IN :ids"),
    ("logged_models", "FROM logged_models WHERE run_id IN :ids"),
    ("lineage_edges", "FROM lineage_edges WHERE " + _RUN_EDGES),
    ("lineage_edges", "FROM lineage_edges WHERE " + _RUN_EDGES + _MODEL_EDGES),
    ("import_mappings", "FROM import_mappings WHERE kind = 'run' AND target_id IN :ids"),
    ("import_mappings", "FROM import_mappings WHERE kind = 'logged_model' AND target_id IN :models"),
    ("runs", "FROM runs WHERE run_id IN :ids"),
)


def remove(
    conn: Connection, run_ids: Sequence[str], *, dry_run: bool = False, counted_edges: set[int] | None = None
) -> dict[str, int]:
    """Delete every row of ``run_ids`` (or, ``dry_run``, count them); rows per table.

    The caller has made sure nothing outside the batch still needs these runs: no model version,
    no child run that stays, no pipeline record (``holds``, ``children``). A dry run over several
    batches passes the same ``counted_edges`` to each: an edge between runs of two batches (parent
    and child) is still there when the second batch counts, and must be counted once.
    """
    if not run_ids:
        return {}
    ids = list(run_ids)
    models = list(conn.execute(text(_MODELS).bindparams(bindparam("ids", expanding=True)), {"ids": ids}).scalars())
    counts: dict[str, int] = {}
    for label, tail in _REMOVE:
        uses_models = ":models" in tail
        if label == "lineage_edges" and uses_models != bool(models):
            continue  # one of the two edge statements: with the models' edges when there are models
        if uses_models and not models:
            continue
        named = [(name, value) for name, value in (("ids", ids), ("models", models)) if f":{name}" in tail]
        binds: list[BindParameter[Any]] = [bindparam(name, expanding=True) for name, _ in named]
        values = dict(named)
        if dry_run and label == "lineage_edges" and counted_edges is not None:
            edges = set(conn.execute(text("SELECT id " + tail).bindparams(*binds), values).scalars())
            n = len(edges - counted_edges)
            counted_edges |= edges
        elif dry_run:
            n = int(conn.execute(text("SELECT count(*) " + tail).bindparams(*binds), values).scalar_one())
        else:
            n = int(conn.execute(text("DELETE " + tail).bindparams(*binds), values).rowcount or 0)
        counts[label] = counts.get(label, 0) + n
    return counts
