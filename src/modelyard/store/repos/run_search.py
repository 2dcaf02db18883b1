"""Run search compiled to SQL: a ``RunQuery`` in, the run ids of one page out, in order.

Everything the user wrote reaches the database as a bound parameter; only the shape of the
statement (which tables, which operators) comes from the query records. The semantics, the same on
SQLite and PostgreSQL:

* a metric, param or tag comparison holds when the run *has* the key and its value compares true;
  so ``params.model != 'rf'`` means "has a model param other than rf" (MLflow's meaning), and a
  metric whose latest value is NaN (stored NULL) matches no comparison at all;
* ``IS NULL`` holds when the run lacks the key, ``IS NOT NULL`` when it has it (even as NaN);
* every comparison is two-valued, so ``NOT c`` holds exactly when ``c`` does not: nullable
  attributes (``end_time``, ``parent_run_id``, ``source_git_commit``) never leak SQL's NULL logic;
* LIKE is case-sensitive and ILIKE is not; both take ``\\`` as their escape character;
* sorting puts runs missing the key (or holding NaN) last in both directions, compares strings by
  code point, then breaks ties by ``start_time DESC, run_id`` so pages never overlap.

Filters on metrics, params and tags are scalar probes of the (run_id, key) primary keys and
sorts are left joins on them: each costs one index lookup per candidate run, so a filter's cost
grows linearly with its terms (the grammar bounds their number).

A search ordered first by a metric is split in two (``_search_by_metric``): the runs holding a
value, read in the order of the (key, value, run_id) index so that a page stops after its rows,
then, only when the page reaches past them, the runs without one. The single statement's left join
and its portable NULLS LAST (a CASE) hide that order from the planner, which then joined and sorted
every run of the experiments: 2.2 s for a page at 100,000 runs on PostgreSQL, 0.7-1 s on SQLite
(the web UI's runs page sorted by a metric; 9 ms split).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Connection,
    Double,
    FromClause,
    Integer,
    String,
    Table,
    and_,
    case,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.sql.elements import UnaryExpression

from modelyard.domain.search import (
    And,
    Comparison,
    Entity,
    Expr,
    Not,
    Op,
    Or,
    OrderBy,
    RunQuery,
    ViewType,
)
from modelyard.domain.tracking import LifecycleStage
from modelyard.errors import InvalidInput
from modelyard.store.tables import latest_metrics, params, runs, tags

__all__ = ["search_run_ids"]

_KEYED: dict[Entity, Table] = {Entity.METRIC: latest_metrics, Entity.PARAM: params, Entity.TAG: tags}
_STAGES: dict[ViewType, str | None] = {
    ViewType.ACTIVE_ONLY: LifecycleStage.ACTIVE.value,
    ViewType.DELETED_ONLY: LifecycleStage.DELETED.value,
    ViewType.ALL: None,
}
_LIKE_ESCAPE = "\\"


def search_run_ids(conn: Connection, query: RunQuery, *, timeout_s: float | None = None) -> list[str]:
    """The ids of the runs on the page ``query.offset`` / ``query.max_results``, in order.

    ``timeout_s`` bounds the statement (``statement_timeout`` on PostgreSQL, a progress handler
    on SQLite); a search that runs longer is ``InvalidInput`` asking for a narrower one.
    """
    if timeout_s is None:
        return _search(conn, query)
    with _statement_timeout(conn, timeout_s):
        try:
            return _search(conn, query)
        except OperationalError as exc:
            if not _timed_out(exc):
                raise
    raise InvalidInput(f"the search ran longer than {timeout_s:g} s and was stopped; narrow the filter")


def _search(conn: Connection, query: RunQuery) -> list[str]:
    if not query.experiment_ids or query.max_results <= 0:
        return []
    if query.offset < 0:
        raise InvalidInput(f"a search cannot start at a negative offset ({query.offset})")
    dialect = conn.dialect.name
    conditions = [_experiments(query.experiment_ids)]
    stage = _STAGES[query.view]
    if stage is not None:
        conditions.append(runs.c.lifecycle_stage == stage)
    if query.filter is not None:
        conditions.append(_Compiler(dialect).expr(query.filter))
    if query.order_by and query.order_by[0].entity is Entity.METRIC:
        return _search_by_metric(conn, query, conditions)
    source, order = _order(query.order_by, dialect)
    statement = (
        select(runs.c.run_id)
        .select_from(source)
        .where(*conditions)
        .order_by(*order)
        .limit(query.max_results)
        .offset(query.offset)
    )
    return list(conn.execute(statement).scalars())


def _search_by_metric(conn: Connection, query: RunQuery, conditions: list[ColumnElement[bool]]) -> list[str]:
    """The page of a search ordered first by a metric: the runs with a value for it come first in
    either direction (a run without one, or with NaN, sorts last), so they are read on their own
    by the metric's index, and the rest only when the page reaches past them."""
    first = query.order_by[0]
    source, rest = _order(query.order_by[1:], conn.dialect.name, first_index=1)
    held = latest_metrics.alias("order_0")
    wanted = query.offset + query.max_results
    valued = (
        select(runs.c.run_id)
        .select_from(source.join(held, and_(held.c.run_id == runs.c.run_id, held.c.key == first.key)))
        .where(*conditions, held.c.value.is_not(None))
        .order_by(held.c.value.asc() if first.ascending else held.c.value.desc(), *rest)
        .limit(wanted)
    )
    ids = list(conn.execute(valued).scalars())
    if len(ids) == wanted:
        return ids[query.offset :]
    has_value = (
        select(literal_column("1"))
        .where(
            latest_metrics.c.run_id == runs.c.run_id,
            latest_metrics.c.key == first.key,
            latest_metrics.c.value.is_not(None),
        )
        .correlate(runs)
        .exists()
    )
    skip = max(0, query.offset - len(ids))
    without = (
        select(runs.c.run_id)
        .select_from(source)
        .where(*conditions, ~has_value)
        .order_by(*rest)
        .limit(wanted - max(query.offset, len(ids)))
        .offset(skip)
    )
    return ids[query.offset :] + list(conn.execute(without).scalars())


@contextmanager
def _statement_timeout(conn: Connection, timeout_s: float) -> Iterator[None]:
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SET LOCAL statement_timeout = {max(1, int(timeout_s * 1000))}")
        yield
        return
    raw: Any = conn.connection.driver_connection
    deadline = time.monotonic() + timeout_s
    raw.set_progress_handler(lambda: time.monotonic() > deadline, 10_000)
    try:
        yield
    finally:
        raw.set_progress_handler(None, 0)


def _timed_out(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return "statement timeout" in text or "interrupted" in text


def _experiments(experiment_ids: Sequence[str]) -> ColumnElement[bool]:
    ids: list[int] = []
    for experiment_id in experiment_ids:
        if not str(experiment_id).isdigit():
            raise InvalidInput(f"experiment ids are whole numbers, got {experiment_id!r}")
        ids.append(int(experiment_id))
    return runs.c.experiment_id == ids[0] if len(ids) == 1 else runs.c.experiment_id.in_(ids)


class _Compiler:
    """Turns a filter expression into a two-valued SQL condition for one dialect."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect

    def expr(self, expr: Expr) -> ColumnElement[bool]:
        if isinstance(expr, And):
            return and_(*(self.expr(item) for item in expr.items))
        if isinstance(expr, Or):
            return or_(*(self.expr(item) for item in expr.items))
        if isinstance(expr, Not):
            return not_(self.expr(expr.item))
        return self.comparison(expr)

    def comparison(self, c: Comparison) -> ColumnElement[bool]:
        if c.entity is Entity.ATTRIBUTE:
            column = runs.c[c.key]
            if c.op is Op.IS_NULL:
                return column.is_(None)
            if c.op is Op.IS_NOT_NULL:
                return column.is_not(None)
            test = self.test(column, c.op, c.value)
            return and_(column.is_not(None), test) if column.nullable else test
        # A scalar probe of the (run_id, key) primary key, not EXISTS: PostgreSQL turns each EXISTS
        # into a semi-join and plans them together, and a few hundred AND-ed ones took minutes
        # to plan; scalar subqueries stay per-row probes, so the cost grows linearly with terms.
        table = _KEYED[c.entity]
        has_key = (table.c.run_id == runs.c.run_id, table.c.key == c.key)
        if c.op in (Op.IS_NULL, Op.IS_NOT_NULL):
            present = select(literal_column("1")).where(*has_key).correlate(runs).scalar_subquery()
            return present.is_(None) if c.op is Op.IS_NULL else present.is_not(None)
        matches = self.test(table.c.value, c.op, c.value)
        probe = select(matches).where(*has_key).correlate(runs).scalar_subquery()
        return func.coalesce(probe, false(), type_=Boolean)  # absent or NaN: false, never NULL

    def test(self, column: ColumnElement[object], op: Op, value: object) -> ColumnElement[bool]:
        """``column <op> value``; NULL in the column makes it not true, as the callers rely on."""
        if op in (Op.IN, Op.NOT_IN):
            assert isinstance(value, tuple) and value, "the grammar guarantees a non-empty IN list"
            items = [self.bind(column, v) for v in value]
            return column.in_(items) if op is Op.IN else column.not_in(items)
        if op is Op.LIKE:
            assert isinstance(value, str)
            if self.dialect == "sqlite":  # SQLite's LIKE ignores case; GLOB does not
                return column.op("GLOB", is_comparison=True)(_like_to_glob(value))
            return column.like(value, escape=_LIKE_ESCAPE)
        if op is Op.ILIKE:
            assert isinstance(value, str)
            return column.ilike(value, escape=_LIKE_ESCAPE)
        bound = self.bind(column, value)
        if op is Op.EQ:
            return column == bound
        if op is Op.NE:
            return column != bound
        if op is Op.LT:
            return column < bound
        if op is Op.LE:
            return column <= bound
        if op is Op.GT:
            return column > bound
        assert op is Op.GE, f"no SQL for {op}"
        return column >= bound

    @staticmethod
    def bind(column: ColumnElement[object], value: object) -> object:
        """Whole numbers bind as integers against integer columns, so their indexes stay usable."""
        if isinstance(value, float) and isinstance(column.type, Integer):
            return int(value) if value.is_integer() else literal(value, Double())
        return value


def _order(
    order_by: Sequence[OrderBy], dialect: str, *, first_index: int = 0
) -> tuple[FromClause, list[UnaryExpression[object]]]:
    """The FROM clause (runs plus one left join per keyed sort) and the ORDER BY keys;
    ``first_index`` numbers the joined aliases (``order_<n>``) when some keys are handled elsewhere."""
    source: FromClause = runs
    keys: list[UnaryExpression[object]] = []
    for index, order in enumerate(order_by, start=first_index):
        value: ColumnElement[object]
        if order.entity is Entity.ATTRIBUTE:
            value = runs.c[order.key]
            nullable = bool(runs.c[order.key].nullable)
        else:
            table = _KEYED[order.entity].alias(f"order_{index}")
            source = source.outerjoin(table, and_(table.c.run_id == runs.c.run_id, table.c.key == order.key))
            value = table.c.value
            nullable = True
        if nullable:
            # Portable NULLS LAST: the same SQL on both engines and on SQLite older than 3.30.
            keys.append(case((value.is_(None), 1), else_=0).asc())
        sort_key: ColumnElement[Any] = value
        if isinstance(value.type, String) and dialect == "postgresql":
            sort_key = value.collate("C")  # code-point order, as SQLite's default BINARY collation
        keys.append(sort_key.asc() if order.ascending else sort_key.desc())
    keys += [runs.c.start_time.desc(), runs.c.run_id.asc()]
    return source, keys


def _like_to_glob(pattern: str) -> str:
    """A LIKE pattern (``%``, ``_``, ``\\`` escapes) as the equivalent case-sensitive GLOB pattern."""
    out: list[str] = []
    chars = iter(pattern)
    for ch in chars:
        if ch == _LIKE_ESCAPE:
            ch = next(chars, _LIKE_ESCAPE)
            out.append(_glob_literal(ch))
        elif ch == "%":
            out.append("*")
        elif ch == "_":
            out.append("?")
        else:
            out.append(_glob_literal(ch))
    return "".join(out)


def _glob_literal(ch: str) -> str:
    return f"[{ch}]" if ch in "*?[" else ch
