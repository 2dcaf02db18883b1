"""Metric history and each metric's latest value.

The latest value is the one at the highest step, then the latest timestamp (MLflow's rule), kept
in ``latest_metrics`` by an upsert in the same transaction as the history rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache

from sqlalchemy import Connection, Dialect, func, or_, select

from modelyard.domain.tracking import Metric
from modelyard.store.repos._upsert import upsert
from modelyard.store.tables import latest_metrics, metrics

NAN = float("nan")


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
            metrics.insert(),
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
        keys=("run_id", "key"),
        update=("value", "timestamp", "step"),
        where=lambda t, new: or_(new.step > t.c.step, (new.step == t.c.step) & (new.timestamp >= t.c.timestamp)),
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
    rows = conn.execute(
        select(metrics.c.key, metrics.c.value, metrics.c.timestamp, metrics.c.step)
        .where((metrics.c.run_id == run_id) & (metrics.c.key == key))
        .order_by(metrics.c.step, metrics.c.timestamp, metrics.c.id)
    )
    return [Metric(key=r.key, value=_loaded(r.value), timestamp=r.timestamp, step=r.step) for r in rows]


def latest_values(conn: Connection, run_ids: Sequence[str]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    rows = conn.execute(
        select(latest_metrics.c.run_id, latest_metrics.c.key, latest_metrics.c.value).where(
            latest_metrics.c.run_id.in_(list(run_ids))
        )
    )
    for r in rows:
        out.setdefault(r.run_id, {})[r.key] = _loaded(r.value)
    return out


def count(conn: Connection, run_id: str) -> int:
    return int(conn.execute(select(func.count()).where(metrics.c.run_id == run_id)).scalar_one())
