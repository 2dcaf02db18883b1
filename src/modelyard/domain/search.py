"""The run search language as data: what a filter string and an order-by clause mean.

The parser (``modelyard.tracking.search``) turns the user's text into these records; the store
(``modelyard.store.repos.run_search``) turns them into SQL with bound parameters. Neither side ever
sees the other's syntax, and no user text ever becomes SQL.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, TypeAlias


class Entity(enum.StrEnum):
    """What a key names: a metric's latest value, a param, a tag, or a run attribute."""

    METRIC = "metrics"
    PARAM = "params"
    TAG = "tags"
    ATTRIBUTE = "attributes"


class Op(enum.StrEnum):
    EQ = "="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    LIKE = "LIKE"
    ILIKE = "ILIKE"
    IN = "IN"
    NOT_IN = "NOT IN"
    IS_NULL = "IS NULL"
    IS_NOT_NULL = "IS NOT NULL"


# Run attributes a filter or an order may name, with the type of their values.
STRING_ATTRIBUTES = frozenset(
    {"run_id", "run_name", "status", "user", "lifecycle_stage", "parent_run_id", "source_git_commit"}
)
NUMERIC_ATTRIBUTES = frozenset({"start_time", "end_time", "experiment_id"})
ATTRIBUTES = STRING_ATTRIBUTES | NUMERIC_ATTRIBUTES

Value: TypeAlias = "str | float | tuple[str, ...] | tuple[float, ...] | None"


@dataclass(frozen=True, kw_only=True)
class Comparison:
    """``<entity>.<key> <op> <value>``; ``value`` is a tuple for IN / NOT IN, None for IS [NOT] NULL."""

    entity: Entity
    key: str
    op: Op
    value: Value


@dataclass(frozen=True, kw_only=True)
class And:
    items: tuple[Expr, ...]


@dataclass(frozen=True, kw_only=True)
class Or:
    items: tuple[Expr, ...]


@dataclass(frozen=True, kw_only=True)
class Not:
    item: Expr


Expr: TypeAlias = "Comparison | And | Or | Not"


@dataclass(frozen=True, kw_only=True)
class OrderBy:
    """One sort key; runs missing the key sort last in either direction."""

    entity: Entity
    key: str
    ascending: bool = True


class ViewType(enum.StrEnum):
    """Which runs a search sees, by lifecycle stage."""

    ACTIVE_ONLY = "ACTIVE_ONLY"
    DELETED_ONLY = "DELETED_ONLY"
    ALL = "ALL"


@dataclass(frozen=True, kw_only=True)
class RunQuery:
    """A complete, validated search: which experiments, which runs, in which order, which page."""

    experiment_ids: tuple[str, ...]
    filter: Expr | None = None
    order_by: tuple[OrderBy, ...] = ()
    view: ViewType = ViewType.ACTIVE_ONLY
    max_results: int = 1000
    offset: int = 0
    after: tuple[Any, ...] | None = None  # the sort keys of the previous page's last run (keyset paging)
