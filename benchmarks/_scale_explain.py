"""Which indexes a search's plans use, asked of PostgreSQL with the very statements the client sent.

A search page in 30 ms on a filled store could come from an index or from a scan that still fits
in memory at that size; the plan says which, and whether it will stay flat as the tables grow.
``explain`` runs a search through the client while a SQLAlchemy ``before_cursor_execute``
listener (on every ``Engine``) records each ``SELECT`` with its parameters, then runs
``EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)`` of each through psycopg on the same database, and
returns the index names, the scans of whole tables and the execution times the plans report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
from sqlalchemy import event
from sqlalchemy.engine import Engine


@dataclass
class Plan:
    """One statement's plan: indexes it reads, tables it scans whole, milliseconds, a sketch."""

    statement: str
    indexes: list[str] = field(default_factory=list)
    seq_scans: list[str] = field(default_factory=list)
    execution_ms: float = 0.0
    shared_hit: int = 0
    shared_read: int = 0
    tree: list[str] = field(default_factory=list)


def _nodes(node: dict[str, Any], depth: int = 0) -> Iterator[tuple[int, dict[str, Any]]]:
    yield depth, node
    for child in node.get("Plans", []):
        yield from _nodes(child, depth + 1)


def _plan(statement: str, explained: dict[str, Any]) -> Plan:
    plan = Plan(statement=" ".join(statement.split()), execution_ms=float(explained.get("Execution Time", 0.0)))
    top = explained["Plan"]
    plan.shared_hit = int(top.get("Shared Hit Blocks", 0))
    plan.shared_read = int(top.get("Shared Read Blocks", 0))
    for depth, node in _nodes(top):
        kind = node["Node Type"]
        index = node.get("Index Name")
        relation = node.get("Relation Name")
        if index and index not in plan.indexes:
            plan.indexes.append(index)
        if kind == "Seq Scan" and relation and relation not in plan.seq_scans:
            plan.seq_scans.append(relation)
        where = f" on {relation}" if relation else ""
        using = f" using {index}" if index else ""
        rows, loops = node.get("Actual Rows", "?"), node.get("Actual Loops", 1)
        seconds = node.get("Actual Total Time", "?")
        plan.tree.append(f"{'  ' * depth}{kind}{where}{using} (rows={rows} loops={loops} time={seconds} ms)")
    return plan


def explain(search: Callable[[], Any], libpq: str) -> list[Plan]:
    """Run ``search`` once, then ``EXPLAIN ANALYZE`` each ``SELECT`` it sent, on ``libpq``."""
    captured: list[tuple[str, Any]] = []

    def capture(conn: object, cursor: object, statement: str, parameters: Any, *_: object) -> None:
        head = statement.lstrip().upper()
        if head.startswith(("SELECT", "WITH")) and not isinstance(parameters, list):
            captured.append((statement, parameters))

    event.listen(Engine, "before_cursor_execute", capture)
    try:
        search()
    finally:
        event.remove(Engine, "before_cursor_execute", capture)
    plans: list[Plan] = []
    with psycopg.connect(libpq) as conn:
        for statement, parameters in captured:
            row = conn.execute(
                "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement,
                parameters or None,
            ).fetchone()
            assert row is not None
            plans.append(_plan(statement, row[0][0]))
        conn.rollback()
    return plans


def summary(plans: list[Plan]) -> str:
    """One line for a case note: the indexes and whole-table scans of all plans, total ms."""
    indexes = list(dict.fromkeys(i for p in plans for i in p.indexes))
    scans = list(dict.fromkeys(s for p in plans for s in p.seq_scans))
    total = sum(p.execution_ms for p in plans)
    return (
        f"EXPLAIN ANALYZE of {len(plans)} statement(s): indexes {', '.join(indexes) or 'none'}; "
        f"seq scans {', '.join(scans) or 'none'}; execution {total:.1f} ms"
    )


def report(title: str, plans: list[Plan]) -> str:
    """The plans as text: each statement's sketch, indexes and time (for the log)."""
    lines = [f"-- {title}: {summary(plans)}"]
    for n, plan in enumerate(plans, start=1):
        lines.append(
            f"statement {n}: {plan.execution_ms:.1f} ms, buffers hit {plan.shared_hit} read {plan.shared_read}, "
            f"indexes {', '.join(plan.indexes) or 'none'}"
        )
        lines.append(f"  sql: {plan.statement[:600]}")
        lines.extend(f"  {line}" for line in plan.tree)
    return "\n".join(lines)
