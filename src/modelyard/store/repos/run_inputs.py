"""Run inputs: which dataset versions a run used, and in which role."""

from __future__ import annotations

from sqlalchemy import Connection, Row, select

from modelyard.domain.data import DatasetRole, RunInput
from modelyard.store.repos._upsert import upsert
from modelyard.store.tables import run_inputs

_KEY = ("run_id", "dataset_name", "digest", "role")


def add(conn: Connection, run_input: RunInput) -> None:
    """Record the input; recording the same (run, version, role) again keeps the first row."""
    row = {
        "run_id": run_input.run_id,
        "dataset_name": run_input.dataset_name,
        "digest": run_input.digest,
        "role": run_input.role.value,
        "created_at": run_input.created_at,
    }
    upsert(conn, run_inputs, [row], keys=_KEY, update=())


def for_run(conn: Connection, run_id: str) -> list[RunInput]:
    """The inputs of one run, in the order they were recorded."""
    rows = conn.execute(
        select(run_inputs)
        .where(run_inputs.c.run_id == run_id)
        .order_by(run_inputs.c.created_at, run_inputs.c.dataset_name, run_inputs.c.role)
    )
    return [_input(r) for r in rows]


def for_version(conn: Connection, name: str, digest: str) -> list[RunInput]:
    """Every run that used the version ``name@digest``."""
    rows = conn.execute(
        select(run_inputs)
        .where(run_inputs.c.dataset_name == name, run_inputs.c.digest == digest)
        .order_by(run_inputs.c.created_at, run_inputs.c.run_id)
    )
    return [_input(r) for r in rows]


def _input(row: Row) -> RunInput:  # type: ignore[type-arg]
    return RunInput(
        run_id=row.run_id,
        dataset_name=row.dataset_name,
        digest=row.digest,
        role=DatasetRole(row.role),
        created_at=int(row.created_at),
    )
