"""Runs with their params and tags (the run aggregate; metrics have their own repository).

Statements are built once at import, values going in as bound parameters (``expanding`` ones for
id lists): a run's start, params and end run these on every call, and building a statement per
call cost SQLAlchemy more than SQLite spent executing it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from sqlalchemy import Connection, Insert, String, bindparam, cast, select, update

from modelyard.domain.governance import ScopeKind
from modelyard.domain.tracking import LifecycleStage, Run, RunColumns, RunData, RunInfo, RunStatus, SourceInfo
from modelyard.store.repos import _pg_bulk
from modelyard.store.repos import identity as identity_rows
from modelyard.store.repos import metrics as metric_rows
from modelyard.store.repos._upsert import upsert, upsert_statement
from modelyard.store.repos.ids import resolve_prefix
from modelyard.store.tables import params, runs, tags
from modelyard.uris import RunUri

_CHUNK = 500  # ids per IN (...) so SQLite's variable limit is never reached

# Bind names differ from column names: an UPDATE's SET clause reserves the column names.
_RUNNING = RunStatus.RUNNING.value
_INSERT = runs.insert()
_GET = select(runs).where(runs.c.run_id == bindparam("b_run_id"))
_GET_FOR_UPDATE = _GET.with_for_update()
_WITH_ACCESS = identity_rows.access_columns(ScopeKind.EXPERIMENT, cast(runs.c.experiment_id, String))
_GET_WITH_ACCESS = select(runs, *_WITH_ACCESS).where(runs.c.run_id == bindparam("b_run_id"))
_GET_WITH_ACCESS_FOR_UPDATE = _GET_WITH_ACCESS.with_for_update(of=runs)
_GET_MANY = select(runs).where(runs.c.run_id.in_(bindparam("b_ids", expanding=True)))
_PARAMS_OF = select(params).where(params.c.run_id.in_(bindparam("b_ids", expanding=True)))
_TAGS_OF = select(tags).where(tags.c.run_id.in_(bindparam("b_ids", expanding=True)))
_SET_STATUS = (
    update(runs)
    .where(runs.c.run_id == bindparam("b_run_id"))
    .values(status=bindparam("b_status"), end_time=bindparam("b_end_time"))
)
_SET_HEARTBEAT = (
    update(runs)
    .where(runs.c.run_id.in_(bindparam("b_ids", expanding=True)) & (runs.c.status == _RUNNING))
    .values(heartbeat_time=bindparam("b_now"))
)
_SET_LIFECYCLE = (
    update(runs)
    .where(runs.c.run_id == bindparam("b_run_id"))
    .values(lifecycle_stage=bindparam("b_stage"), deleted_time=bindparam("b_deleted_time"))
)
_SET_NAME = update(runs).where(runs.c.run_id == bindparam("b_run_id")).values(run_name=bindparam("b_name"))
_STALE = select(runs.c.run_id).where((runs.c.status == _RUNNING) & (runs.c.heartbeat_time < bindparam("b_before")))
_MARK_KILLED = (
    update(runs)
    .where(runs.c.run_id.in_(bindparam("b_ids", expanding=True)) & (runs.c.status == _RUNNING))
    .values(status=RunStatus.KILLED.value, end_time=bindparam("b_now"))
)
_CHILDREN = select(runs.c.run_id).where(runs.c.parent_run_id == bindparam("b_parent"))
_STORED_PARAMS = select(params.c.key, params.c.value).where(
    (params.c.run_id == bindparam("b_run_id")) & params.c.key.in_(bindparam("b_keys", expanding=True))
)
_PARAM_KEY = ("run_id", "key")
_DELETE_TAG = tags.delete().where((tags.c.run_id == bindparam("b_run_id")) & (tags.c.key == bindparam("b_key")))
_TAG_KEY = ("run_id", "key")
_TAG_UPDATE = ("value",)


def insert(conn: Connection, info: RunInfo) -> None:
    conn.execute(
        _INSERT,
        {
            "run_id": info.run_id,
            "experiment_id": int(info.experiment_id),
            "run_name": info.run_name,
            "user": info.user,
            "status": info.status.value,
            "start_time": info.start_time,
            "end_time": info.end_time,
            "heartbeat_time": info.heartbeat_time,
            "lifecycle_stage": info.lifecycle_stage.value,
            "artifact_uri": info.artifact_uri,
            "parent_run_id": info.parent_run_id,
            "source_name": info.source.name,
            "source_git_commit": info.source.git_commit,
            "source_git_dirty": info.source.git_dirty,
            "environment_digest": info.environment_digest,
        },
    )


def get_info(conn: Connection, run_id: str, *, for_update: bool = False) -> RunInfo | None:
    """The run's row; ``for_update`` locks it on PostgreSQL (SQLite's write transaction already does)."""
    stmt = _GET_FOR_UPDATE if for_update and conn.dialect.name == "postgresql" else _GET
    row = conn.execute(stmt, {"b_run_id": run_id}).first()
    return _info(row) if row else None


def get_info_with_access(
    conn: Connection, run_id: str, user: str, *, for_update: bool = False
) -> tuple[RunInfo | None, identity_rows.Access | None]:
    """The run's row and ``user``'s access on its experiment, in one round trip (every change to a
    run reads both); the access is None for an unknown user or a missing run."""
    postgres = conn.dialect.name == "postgresql"
    stmt = _GET_WITH_ACCESS_FOR_UPDATE if for_update and postgres else _GET_WITH_ACCESS
    row = conn.execute(stmt, {"b_run_id": run_id, identity_rows.ACCESS_USER: user}).first()
    if row is None:
        return None, None
    return _info(row), identity_rows.access_of(row)


# PostgreSQL takes the ids as one array (no IN list to render, one plan for any page size).
_RUN_COLUMNS = ", ".join('"' + column.name + '"' for column in runs.c)  # "user" is a reserved word
_PG_GET_MANY = _pg_bulk.per_run(_RUN_COLUMNS, "runs")
_PG_PARAMS_OF = _pg_bulk.per_run("run_id, key, value", "params")
_PG_TAGS_OF = _pg_bulk.per_run("run_id, key, value", "tags")

_Loaded = tuple[dict[str, RunInfo], dict[str, dict[str, str]], dict[str, dict[str, str]], dict[str, dict[str, float]]]


def get_many(conn: Connection, run_ids: Sequence[str]) -> list[Run]:
    """Whole runs (info, params, tags, latest metrics) in the order of ``run_ids``."""
    load = _load_postgresql if conn.dialect.name == "postgresql" else _load_chunked
    infos, param_map, tag_map, metric_map = load(conn, run_ids)
    return [
        Run(
            info=infos[rid],
            data=RunData(metrics=metric_map.get(rid, {}), params=param_map.get(rid, {}), tags=tag_map.get(rid, {})),
        )
        for rid in run_ids
        if rid in infos
    ]


def _load_chunked(conn: Connection, run_ids: Sequence[str]) -> _Loaded:
    infos: dict[str, RunInfo] = {}
    param_map: dict[str, dict[str, str]] = {}
    tag_map: dict[str, dict[str, str]] = {}
    metric_map: dict[str, dict[str, float]] = {}
    for chunk in _chunks(run_ids):
        ids = {"b_ids": chunk}
        for row in conn.execute(_GET_MANY, ids):
            infos[row.run_id] = _info(row)
        for row in conn.execute(_PARAMS_OF, ids):
            param_map.setdefault(row.run_id, {})[row.key] = row.value
        for row in conn.execute(_TAGS_OF, ids):
            tag_map.setdefault(row.run_id, {})[row.key] = row.value
        for run_id, values in metric_rows.latest_values(conn, chunk).items():
            metric_map[run_id] = values
    return infos, param_map, tag_map, metric_map


def _load_postgresql(conn: Connection, run_ids: Sequence[str]) -> _Loaded:
    """The same maps in four statements whatever the number of runs, read as plain tuples."""
    ids = [list(run_ids)]
    infos = {row.run_id: _info(row) for row in _pg_bulk.fetch(conn, _PG_GET_MANY, ids, named=True)}
    param_map: dict[str, dict[str, str]] = {}
    tag_map: dict[str, dict[str, str]] = {}
    for into, sql in ((param_map, _PG_PARAMS_OF), (tag_map, _PG_TAGS_OF)):
        for run_id, key, value in _pg_bulk.fetch(conn, sql, ids):
            into.setdefault(run_id, {})[key] = value
    return infos, param_map, tag_map, metric_rows.latest_values(conn, run_ids)


def get_columns(conn: Connection, run_ids: Sequence[str]) -> RunColumns:
    """``get_many`` as columns, for a DataFrame: on PostgreSQL the latest metrics (most of the
    values) arrive as arrays per metric (``metric_rows.latest_columns``), never one object each."""
    if conn.dialect.name != "postgresql":
        return RunColumns.from_runs(get_many(conn, run_ids))
    ids = [list(run_ids)]
    infos = {row.run_id: _info(row) for row in _pg_bulk.fetch(conn, _PG_GET_MANY, ids, named=True)}
    kept = [run_id for run_id in run_ids if run_id in infos]  # a run purged meanwhile is left out
    row_of = {run_id: row for row, run_id in enumerate(kept)}
    columns = {f"metrics.{key}": found for key, found in metric_rows.latest_columns(conn, kept).items()}
    for prefix, sql in (("params.", _PG_PARAMS_OF), ("tags.", _PG_TAGS_OF)):
        for run_id, key, value in _pg_bulk.fetch(conn, sql, [kept]):
            rows, values = columns.setdefault(prefix + key, ([], []))
            rows.append(row_of[run_id])
            values.append(value)
    return RunColumns(infos=[infos[run_id] for run_id in kept], columns=columns)


def set_status(conn: Connection, run_id: str, status: RunStatus, *, end_time: int | None) -> None:
    conn.execute(_SET_STATUS, {"b_run_id": run_id, "b_status": status.value, "b_end_time": end_time})


def set_heartbeat(conn: Connection, run_ids: Sequence[str], now_ms: int) -> None:
    conn.execute(_SET_HEARTBEAT, {"b_ids": list(run_ids), "b_now": now_ms})


def set_lifecycle(conn: Connection, run_id: str, stage: LifecycleStage, *, now_ms: int) -> None:
    """Move the run to ``stage``; a deletion records ``now_ms`` (the purge's age), a restore clears it."""
    deleted_time = now_ms if stage is LifecycleStage.DELETED else None
    conn.execute(_SET_LIFECYCLE, {"b_run_id": run_id, "b_stage": stage.value, "b_deleted_time": deleted_time})


def set_name(conn: Connection, run_id: str, name: str) -> None:
    conn.execute(_SET_NAME, {"b_run_id": run_id, "b_name": name})


def stale_running(conn: Connection, older_than_ms: int) -> list[str]:
    """Ids of RUNNING runs whose last heartbeat is older than ``older_than_ms`` (epoch ms)."""
    return list(conn.execute(_STALE, {"b_before": older_than_ms}).scalars())


def mark_killed(conn: Connection, run_ids: Sequence[str], now_ms: int) -> int:
    """End stale runs as KILLED; only those still RUNNING, so a run that just ended is untouched."""
    if not run_ids:
        return 0
    result = conn.execute(_MARK_KILLED, {"b_ids": list(run_ids), "b_now": now_ms})
    return int(result.rowcount or 0)


def children(conn: Connection, parent_run_id: str) -> list[str]:
    return list(conn.execute(_CHILDREN, {"b_parent": parent_run_id}).scalars())


# -- params and tags ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ParamClash:
    key: str
    stored: str
    given: str


def insert_params(conn: Connection, run_id: str, values: dict[str, str]) -> list[ParamClash]:
    """Insert new params; keys already logged with the same value are fine, others are returned.

    One statement when every key is new (the usual case): an INSERT that skips stored keys and
    returns those it wrote; only skipped keys are read back and compared. When clashes are
    returned the new keys of this call are already inserted, so the caller must roll back (the
    service raises ``Conflict`` inside its transaction): all of a call's params are stored, or none.
    """
    if not values:
        return []
    rows = [{"run_id": run_id, "key": k, "value": v} for k, v in values.items()]
    written = set(conn.execute(_new_params(conn.dialect.name), rows).scalars())
    skipped = [k for k in values if k not in written]
    if not skipped:
        return []
    stored = {key: value for key, value in conn.execute(_STORED_PARAMS, {"b_run_id": run_id, "b_keys": skipped})}
    return [ParamClash(k, stored[k], values[k]) for k in skipped if k in stored and stored[k] != values[k]]


@cache
def _new_params(dialect_name: str) -> Insert:
    """INSERT … ON CONFLICT DO NOTHING RETURNING key, built once per dialect."""
    return upsert_statement(dialect_name, params, _PARAM_KEY, (), None).returning(params.c.key)


def upsert_tags(conn: Connection, run_id: str, values: dict[str, str]) -> None:
    upsert(
        conn,
        tags,
        [{"run_id": run_id, "key": k, "value": v} for k, v in values.items()],
        keys=_TAG_KEY,
        update=_TAG_UPDATE,
    )


def delete_tag(conn: Connection, run_id: str, key: str) -> bool:
    result = conn.execute(_DELETE_TAG, {"b_run_id": run_id, "b_key": key})
    return bool(result.rowcount)


def _chunks(ids: Sequence[str]) -> Iterable[list[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield list(ids[start : start + _CHUNK])


def _info(row: Any) -> RunInfo:
    return RunInfo(
        run_id=row.run_id,
        experiment_id=str(row.experiment_id),
        run_name=row.run_name,
        user=row.user,
        status=RunStatus(row.status),
        start_time=row.start_time,
        end_time=row.end_time,
        heartbeat_time=row.heartbeat_time,
        lifecycle_stage=LifecycleStage(row.lifecycle_stage),
        artifact_uri=row.artifact_uri,
        parent_run_id=row.parent_run_id,
        source=SourceInfo(name=row.source_name, git_commit=row.source_git_commit, git_dirty=row.source_git_dirty),
        environment_digest=row.environment_digest,
    )


def resolve_id(conn: Connection, run_id_or_prefix: str) -> str:
    """A full run id from itself or a unique prefix of at least 4 hex digits (as tables show)."""
    return resolve_prefix(conn, runs.c.run_id, run_id_or_prefix, "a run")


def resolve_uri(conn: Connection, uri: RunUri) -> RunUri:
    """``runs:/<id or prefix>/<path>`` with the full run id."""
    return replace(uri, run_id=resolve_id(conn, uri.run_id))
