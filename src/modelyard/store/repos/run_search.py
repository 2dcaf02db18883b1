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

Pages after the first are keyset pages: ``query.after`` holds the sort keys of the last run of the
previous page, and the statement asks for the runs past it (``_after``) instead of skipping
``OFFSET`` rows, which the database reads and throws away, so a deep page cost as much as every
page before it. The same condition bounds the first key (``start_time <= t``, ``value <= v``), so
the index the first page walks is entered where the previous page stopped.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple

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

__all__ = ["Found", "search_run_ids", "search_runs"]

_KEYED: dict[Entity, Table] = {Entity.METRIC: latest_metrics, Entity.PARAM: params, Entity.TAG: tags}
_STAGES: dict[ViewType, str | None] = {
    ViewType.ACTIVE_ONLY: LifecycleStage.ACTIVE.value,
    ViewType.DELETED_ONLY: LifecycleStage.DELETED.value,
    ViewType.ALL: None,
}
_LIKE_ESCAPE = "\\"


class Found(NamedTuple):
    """A run on a page and its sort keys (what ``RunQuery.after`` takes to continue past it)."""

    run_id: str
    keys: tuple[Any, ...]


@dataclass(frozen=True)
class _Key:
    """One sort key: an expression and its direction."""

    expr: ColumnElement[Any]
    ascending: bool

    def clause(self) -> UnaryExpression[Any]:
        return self.expr.asc() if self.ascending else self.expr.desc()


def search_run_ids(conn: Connection, query: RunQuery, *, timeout_s: float | None = None) -> list[str]:
    """The ids of the runs on the page ``query.offset`` / ``query.max_results``, in order."""
    return [found.run_id for found in search_runs(conn, query, timeout_s=timeout_s)]


def search_runs(conn: Connection, query: RunQuery, *, timeout_s: float | None = None) -> list[Found]:
    """The runs of one page, in order, each with its sort keys: the page after ``query.after``
    (the keys of the previous page's last run) or, without it, at ``query.offset``.

    ``timeout_s`` bounds the statement (``statement_timeout`` on PostgreSQL, a progress handler
    on SQLite); a search that runs longer is ``InvalidInput`` asking for a narrower one.
    """
    if timeout_s is None:
        return _search(conn, query)
    with _search_settings(conn, timeout_s):
        try:
            return _search(conn, query)
        except OperationalError as exc:
            if not _timed_out(exc):
                raise
    raise InvalidInput(f"the search ran longer than {timeout_s:g} s and was stopped; narrow the filter")


def _search(conn: Connection, query: RunQuery) -> list[Found]:
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
    source, keys = _order(query.order_by, dialect)
    if query.after is not None:
        conditions.append(_after(keys, query.after))
    statement = (
        select(runs.c.run_id, *(k.expr for k in keys))
        .select_from(source)
        .where(*conditions)
        .order_by(*(k.clause() for k in keys))
        .limit(query.max_results)
        .offset(0 if query.after is not None else query.offset)
    )
    return [Found(row[0], tuple(row[1:])) for row in conn.execute(statement)]


def _after(keys: Sequence[_Key], values: Sequence[Any]) -> ColumnElement[bool]:
    """The rows that sort after the one whose keys are ``values``: past it on the first key, or
    equal on the first and past it on the second, and so on. A key where ``values`` holds NULL
    (its run lacks the key: every run after it does too) is equal only to NULL and never passed.
    The first key is also bounded on its own (``>=``/``<=``), a range its index can enter at."""
    if len(values) != len(keys):
        raise InvalidInput("the page token does not belong to this search; start again without it")
    past: list[ColumnElement[bool]] = []
    equal: list[ColumnElement[bool]] = []
    for key, value in zip(keys, values, strict=True):
        if value is None:
            equal.append(key.expr.is_(None))
            continue
        past.append(and_(*equal, key.expr > value if key.ascending else key.expr < value))
        equal.append(key.expr == value)
    condition = or_(*past) if past else false()
    first, value = keys[0], values[0]
    if value is None:
        return condition
    return and_(first.expr >= value if first.ascending else first.expr <= value, condition)


def _search_by_metric(conn: Connection, query: RunQuery, conditions: list[ColumnElement[bool]]) -> list[Found]:
    """The page of a search ordered first by a metric: the runs with a value for it come first in
    either direction (a run without one, or with NaN, sorts last), so they are read on their own
    by the metric's index, and the rest only when the page reaches past them.

    The keys returned are those of the single statement's order (``_order``): a NULLS LAST flag,
    the value, then the other keys, so a page token means the same on either path."""
    first = query.order_by[0]
    source, rest = _order(query.order_by[1:], conn.dialect.name, first_index=1)
    held = latest_metrics.alias("order_0")
    after = query.after
    offset = 0 if after is not None else query.offset
    wanted = offset + query.max_results
    found: list[Found] = []
    bounds = _bounds(query.filter, first.key)
    if after is None or after[0] == 0:  # the page starts among the runs holding a value
        keys = [_Key(held.c.value, first.ascending), *rest]
        valued_conditions = [*conditions, held.c.value.is_not(None)]
        # The filter's own bounds on the sorted metric, repeated on the joined row: the same
        # condition, but now one the metric's index can start and stop its walk at.
        compiler = _Compiler(conn.dialect.name)
        valued_conditions.extend(compiler.test(held.c.value, c.op, c.value) for c in bounds)
        if after is not None:
            valued_conditions.append(_after(keys, after[1:]))
        valued = (
            select(runs.c.run_id, *(k.expr for k in keys))
            .select_from(source.join(held, and_(held.c.run_id == runs.c.run_id, held.c.key == first.key)))
            .where(*valued_conditions)
            .order_by(*(k.clause() for k in keys))
            .limit(wanted)
        )
        found = [Found(row[0], (0, *row[1:])) for row in conn.execute(valued)]
        if len(found) == wanted or bounds:  # a run without the metric fails the filter's bound on it
            return found[offset:]
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
    skip = max(0, offset - len(found))
    without_conditions = [*conditions, ~has_value]
    if after is not None and after[0] == 1:  # the previous page ended among the runs without one
        without_conditions.append(_after(rest, after[2:]))
    without = (
        select(runs.c.run_id, *(k.expr for k in rest))
        .select_from(source)
        .where(*without_conditions)
        .order_by(*(k.clause() for k in rest))
        .limit(wanted - max(offset, len(found)))
        .offset(skip)
    )
    return found[offset:] + [Found(row[0], (1, None, *row[1:])) for row in conn.execute(without)]


_RANGE_OPS = (Op.EQ, Op.LT, Op.LE, Op.GT, Op.GE)


def _bounds(expr: Expr | None, metric: str) -> list[Comparison]:
    """The comparisons of ``metric`` with a value that every match must pass: those AND-ed at the
    top of the filter (not under an OR or a NOT)."""
    if isinstance(expr, And):
        return [c for item in expr.items for c in _bounds(item, metric)]
    if isinstance(expr, Comparison) and expr.entity is Entity.METRIC and expr.key == metric and expr.op in _RANGE_OPS:
        return [expr]
    return []


@contextmanager
def _search_settings(conn: Connection, timeout_s: float) -> Iterator[None]:
    """The search's statement timeout (SQLite: a progress handler past the deadline), and on
    PostgreSQL the planner settings of its transaction."""
    if conn.dialect.name == "postgresql":
        settings = f"SET LOCAL statement_timeout = {max(1, int(timeout_s * 1000))}"
        if (conn.dialect.server_version_info or (0,)) >= (14,):
            # A walk in a metric's index meets each run once, so PostgreSQL's cache of the per-run
            # look-ups (Memoize) never hits and only adds its bookkeeping: 12 % of a page's time.
            settings += "; SET LOCAL enable_memoize = off"
        conn.exec_driver_sql(settings)  # no parameters: one round trip for both
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


def _order(order_by: Sequence[OrderBy], dialect: str, *, first_index: int = 0) -> tuple[FromClause, list[_Key]]:
    """The FROM clause (runs plus one left join per keyed sort) and the sort keys;
    ``first_index`` numbers the joined aliases (``order_<n>``) when some keys are handled elsewhere."""
    source: FromClause = runs
    keys: list[_Key] = []
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
            keys.append(_Key(case((value.is_(None), 1), else_=0), ascending=True))
        sort_key: ColumnElement[Any] = value
        if isinstance(value.type, String) and dialect == "postgresql":
            sort_key = value.collate("C")  # code-point order, as SQLite's default BINARY collation
        keys.append(_Key(sort_key, order.ascending))
    keys += [_Key(runs.c.start_time, ascending=False), _Key(runs.c.run_id, ascending=True)]
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
