"""The COPY writers of the scale fill: one per tool's schema, each laying a ``Chunk`` of runs out in
the rows that tool's own API writes (``scale_generate`` makes the chunks and drives the writers).

They load as ``pg_restore`` does: secondary indexes dropped first and rebuilt in one sort each at
the end, foreign-key triggers off (``session_replication_role = replica``, a superuser's), commits
that do not wait for the disk (a crash means loading again anyway).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from benchmarks import _scale_fill
from benchmarks._scale_fill import libpq_url

BASE_MS = 1_735_689_600_000  # 2025-01-01, the experiments' creation time


@dataclass
class Chunk:
    """The rows of some runs, tool-neutral: each writer lays them out in its own tables."""

    runs: list[tuple[str, int, str, str, int, int]] = field(default_factory=list)  # id, exp, name, user, start, end
    params: list[tuple[str, str, str]] = field(default_factory=list)  # run, key, value
    tags: list[tuple[str, str, str]] = field(default_factory=list)
    metrics: list[tuple[str, str, float, int, int]] = field(default_factory=list)  # run, key, value, ts, step
    latest: list[tuple[str, str, float, int, int]] = field(default_factory=list)


# -- writers: one per tool's schema ---------------------------------------------------------------------

EXPERIMENT_COLUMNS = (
    "experiment_id", "name", "artifact_location", "lifecycle_stage", "creation_time", "last_update_time",
)  # fmt: skip
MODELYARD_RUN_COLUMNS = (
    "run_id", "experiment_id", "run_name", "user", "status", "start_time", "end_time", "heartbeat_time",
    "lifecycle_stage", "artifact_uri",
)  # fmt: skip
MLFLOW_RUN_COLUMNS = (
    "run_uuid", "name", "source_type", "source_name", "entry_point_name", "user_id", "status", "start_time",
    "end_time", "source_version", "lifecycle_stage", "artifact_uri", "experiment_id",
)  # fmt: skip
_SETVAL = (
    "SELECT setval(pg_get_serial_sequence('experiments', 'experiment_id'), "
    "(SELECT max(experiment_id) FROM experiments))"
)


def _copy(conn: psycopg.Connection[Any], table: str, columns: Sequence[str], rows: Iterator[tuple[Any, ...]]) -> None:
    cols = ", ".join(f'"{c}"' for c in columns)
    with conn.cursor() as cur, cur.copy(f'COPY "{table}" ({cols}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)


class ModelyardWriter:
    """COPY into modelyard's tracking tables (``modelyard.store.tables.tracking``)."""

    name = "modelyard"

    tables = ("experiments", "runs", "params", "tags", "metrics", "latest_metrics")

    def __init__(self, url: str, artifact_root: str) -> None:
        self.conn = psycopg.connect(libpq_url(url))
        # A loader's commits need not wait for the disk: a crash means loading again anyway.
        self.conn.execute("SET synchronous_commit = off")
        # Nor check each row's foreign keys (the generator writes every run before its rows), as
        # pg_restore --disable-triggers does; needs a superuser, as a restore does.
        self.conn.execute("SET session_replication_role = replica")
        self.artifact_root = artifact_root.rstrip("/")
        self.experiment_ids: list[int] = []
        self.dropped = self._drop_secondary_indexes()

    def _drop_secondary_indexes(self) -> list[str]:
        """Drop the indexes no constraint owns (rebuilt in ``finish``: one sort beats a million
        index insertions); returns their definitions."""
        rows = self.conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = ANY(%s) "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)",
            (list(self.tables),),
        ).fetchall()
        for name, _ in rows:
            self.conn.execute(f'DROP INDEX "{name}"')
        self.conn.commit()
        return [definition for _, definition in rows]

    experiment_extra: tuple[tuple[str, str], ...] = ()  # (column, value) beyond modelyard's

    def experiments(self, count: int, *, wide: bool = False) -> list[int]:
        """Insert ``count`` experiments (the big one first, ``scale-wide`` after them if ``wide``)
        after any there are; their ids."""
        row = self.conn.execute("SELECT coalesce(max(experiment_id), 0) + 1 FROM experiments").fetchone()
        first = int(row[0]) if row else 1
        names = ["scale-big"] + [f"scale-{n:04d}" for n in range(1, count)] + (["scale-wide"] if wide else [])
        ids = list(range(first, first + len(names)))
        extra_columns = tuple(column for column, _ in self.experiment_extra)
        extra_values = tuple(value for _, value in self.experiment_extra)
        _copy(
            self.conn,
            "experiments",
            EXPERIMENT_COLUMNS + extra_columns,
            (
                (e, n, f"{self.artifact_root}/{e}", "active", BASE_MS, BASE_MS, *extra_values)
                for e, n in zip(ids, names, strict=True)
            ),
        )
        self.conn.execute(_SETVAL)
        self.conn.commit()
        self.experiment_ids = ids
        return ids

    def write(self, chunk: Chunk) -> None:
        exp = self.experiment_ids
        _copy(
            self.conn,
            "runs",
            MODELYARD_RUN_COLUMNS,
            (
                (r, exp[e], name, user, "FINISHED", start, end, end, "active", self._artifacts(exp[e], r))
                for r, e, name, user, start, end in chunk.runs
            ),
        )
        _copy(self.conn, "params", ("run_id", "key", "value"), iter(chunk.params))
        _copy(self.conn, "tags", ("run_id", "key", "value"), iter(chunk.tags))
        _copy(self.conn, "metrics", ("run_id", "key", "value", "timestamp", "step"), iter(chunk.metrics))
        _copy(self.conn, "latest_metrics", ("run_id", "key", "value", "timestamp", "step"), iter(chunk.latest))
        self.conn.commit()

    def _artifacts(self, experiment_id: int, run_id: str) -> str:
        return f"{self.artifact_root}/{experiment_id}/{run_id}/artifacts"

    def extras(self, long_history_run: str) -> None:
        """What the measurement reads besides the runs: a long history, the registered models."""
        _scale_fill.add_long_history(self.conn, self.name, long_history_run)
        _scale_fill.add_registered_models(self.conn, self.name)

    def finish(self) -> None:
        """Rebuild the dropped indexes, then ``VACUUM ANALYZE`` (visibility map, statistics)."""
        self.conn.autocommit = True
        self.conn.execute("SET maintenance_work_mem = '1GB'")
        for definition in self.dropped:
            self.conn.execute(definition)
        for table in (*self.tables, "registered_models", "registered_model_tags"):
            self.conn.execute(f'VACUUM ANALYZE "{table}"')
        self.conn.autocommit = False

    def save(self, record: dict[str, Any]) -> None:
        """Leave ``record`` (``Filled.record``) in the database's comment, and close."""
        _scale_fill.save_record(self.conn, record)
        self.conn.close()


class MlflowWriter(ModelyardWriter):
    """COPY into the tables MLflow's ``SqlAlchemyStore`` creates, in the rows its client writes."""

    name = "mlflow"
    experiment_extra = (("workspace", "default"),)

    def write(self, chunk: Chunk) -> None:
        exp = self.experiment_ids
        _copy(
            self.conn,
            "runs",
            MLFLOW_RUN_COLUMNS,
            (
                (r, name, "LOCAL", "", "", user, "FINISHED", start, end, "", "active", self._artifacts(exp[e], r), x)
                for r, e, name, user, start, end in chunk.runs
                for x in (exp[e],)
            ),
        )
        _copy(self.conn, "params", ("run_uuid", "key", "value"), iter(chunk.params))
        client_tags = [
            (r, key, value)
            for r, _, name, user, _, _ in chunk.runs
            for key, value in (("mlflow.runName", name), ("mlflow.user", user))
        ]
        _copy(self.conn, "tags", ("run_uuid", "key", "value"), iter([*chunk.tags, *client_tags]))
        _copy(
            self.conn,
            "metrics",
            ("run_uuid", "key", "value", "timestamp", "step", "is_nan"),
            ((*row, False) for row in chunk.metrics),
        )
        _copy(
            self.conn,
            "latest_metrics",
            ("run_uuid", "key", "value", "timestamp", "step", "is_nan"),
            ((*row, False) for row in chunk.latest),
        )
        self.conn.commit()
