"""Metric history and each metric's latest value.

The latest value is the one at the highest step, then the latest timestamp (MLflow's rule), kept
in ``latest_metrics`` by an upsert in the same transaction as the history rows.

Statements are built once at import (values go in as bound parameters), so a call costs only
its execution: every run's end flushes its last metrics through ``insert``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Connection, Dialect, Table, bindparam, func, or_, select

from modelyard.domain.tracking import Metric
from modelyard.store.repos._upsert import upsert
from modelyard.store.tables import latest_metrics, metrics

NAN = float("nan")

_INSERT = metrics.insert()
_HISTORY = (
    select(metrics.c.key, metrics.c.value, metrics.c.timestamp, metrics.c.step)
    .where((metrics.c.run_id == bindparam("run_id")) & (metrics.c.key == bindparam("key")))
    .order_by(metrics.c.step, metrics.c.timestamp, metrics.c.id)
)
_LATEST = select(latest_metrics.c.run_id, latest_metrics.c.key, latest_metrics.c.value).where(
    latest_metrics.c.run_id.in_(bindparam("run_ids", expanding=True))
)
_COUNT = select(func.count()).where(metrics.c.run_id == bindparam("run_id"))
_LATEST_KEY = ("run_id", "key")
_LATEST_UPDATE = ("value", "timestamp", "step")


def _newer(table: Table, new: Any) -> ColumnElement[bool]:
    """The incoming value replaces the latest one at a higher step, or the same step and no older."""
    return or_(new.step > table.c.step, (new.step == table.c.step) & (new.timestamp >= table.c.timestamp))


def _stored(value: float) -> float | None:
    return None if math.isnan(value) else value


def _loaded(value: float | None) -> float:
    return NAN if value is None else float(value)


def insert(conn: Connection, run_id: str, batch: Sequence[Metric]) -> None:
    """Append ``batch`` to the history and move each key's latest value forward where newer."""
    if not batch:
        return
    if conn.dialect.name == "sqlite":
        # A batch is up to thousands of rows: hand SQLite plain tuples, skipping SQLAlchemy's
        # per-row parameter processing (most of the cost of a large batch). Same statement.
        conn.exec_driver_sql(
            _compiled_insert(conn.dialect),
            [(run_id, m.key, _stored(m.value), m.timestamp, m.step) for m in batch],
        )
    else:
        conn.execute(
            _INSERT,
            [
                {"run_id": run_id, "key": m.key, "value": _stored(m.value), "timestamp": m.timestamp, "step": m.step}
                for m in batch
            ],
        )
    newest: dict[str, Metric] = {}
    for m in batch:
        held = newest.get(m.key)
        if held is None or (m.step, m.timestamp) >= (held.step, held.timestamp):
            newest[m.key] = m
    upsert(
        conn,
        latest_metrics,
        [
            {"run_id": run_id, "key": m.key, "value": _stored(m.value), "timestamp": m.timestamp, "step": m.step}
            for m in newest.values()
        ],
        keys=_LATEST_KEY,
        update=_LATEST_UPDATE,
        where=_newer,
    )


_COLUMNS = ("run_id", "key", "value", "timestamp", "step")


@cache
def _compiled_insert(dialect: Dialect) -> str:
    """The history INSERT as the dialect spells it, taking positional parameters in ``_COLUMNS`` order."""
    compiled = metrics.insert().compile(dialect=dialect, column_keys=list(_COLUMNS))
    assert compiled.positiontup == list(_COLUMNS), compiled.positiontup
    return str(compiled)


def history(conn: Connection, run_id: str, key: str) -> list[Metric]:
    """Every value logged for ``key``, by step then time then insertion."""
    rows = conn.execute(_HISTORY, {"run_id": run_id, "key": key})
    return [Metric(key=r.key, value=_loaded(r.value), timestamp=r.timestamp, step=r.step) for r in rows]


def latest_values(conn: Connection, run_ids: Sequence[str]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    rows = conn.execute(_LATEST, {"run_ids": list(run_ids)})
    for r in rows:
        out.setdefault(r.run_id, {})[r.key] = _loaded(r.value)
    return out


def count(conn: Connection, run_id: str) -> int:
    return int(conn.execute(_COUNT, {"run_id": run_id}).scalar_one())
