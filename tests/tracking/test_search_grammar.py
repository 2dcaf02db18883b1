"""The filter language: what parses to what, and errors that point at the problem."""

from __future__ import annotations

import pytest

from modelyard.domain.search import And, Comparison, Entity, Not, Op, Or, OrderBy
from modelyard.errors import InvalidInput
from modelyard.tracking.search_grammar import MAX_DEPTH, parse_filter, parse_order_by


def test_blank_is_no_filter() -> None:
    assert parse_filter(None) is None
    assert parse_filter("   ") is None


def test_precedence_and_prefixes() -> None:
    parsed = parse_filter("metric.auc > 0.9 or params.model = 'rf' and not tag.team = \"risk\"")
    assert parsed == Or(
        items=(
            Comparison(entity=Entity.METRIC, key="auc", op=Op.GT, value=0.9),
            And(
                items=(
                    Comparison(entity=Entity.PARAM, key="model", op=Op.EQ, value="rf"),
                    Not(item=Comparison(entity=Entity.TAG, key="team", op=Op.EQ, value="risk")),
                )
            ),
        )
    )


def test_attribute_aliases_and_bare_attributes() -> None:
    assert parse_filter("name = 'x'") == Comparison(entity=Entity.ATTRIBUTE, key="run_name", op=Op.EQ, value="x")
    assert parse_filter("attr.created >= 5") == Comparison(
        entity=Entity.ATTRIBUTE, key="start_time", op=Op.GE, value=5.0
    )


def test_quoted_keys_and_escapes() -> None:
    assert parse_filter("params.`learning rate` = 'it''s'") == Comparison(
        entity=Entity.PARAM, key="learning rate", op=Op.EQ, value="it's"
    )
    assert parse_filter(r"tags.path LIKE 'a\_%'") == Comparison(
        entity=Entity.TAG, key="path", op=Op.LIKE, value=r"a\_%"
    )


def test_in_lists() -> None:
    assert parse_filter("metrics.k IN (1, 2.5)") == Comparison(
        entity=Entity.METRIC, key="k", op=Op.IN, value=(1.0, 2.5)
    )
    assert parse_filter("params.m NOT IN ('a')") == Comparison(entity=Entity.PARAM, key="m", op=Op.NOT_IN, value=("a",))


@pytest.mark.parametrize(
    ("text", "column", "message"),
    [
        ("metrics.auc > 'high'", 14, "with numbers, got string"),
        ("params.model = rf", 15, "quote strings"),
        ("params.model > 'a'", 13, "as strings"),
        ("metricz.auc > 1", 0, "unknown prefix 'metricz'"),
        ("metrics.auc > 1 and", 19, "expected a column"),
        ("(metrics.auc > 1", 0, "never closed"),
        ("metrics.auc > 1)", 15, "closes nothing"),
        ("attributes.colour = 'red'", 11, "unknown attribute 'colour'"),
        ("attributes.status = 'DONE'", 20, "one of RUNNING, FINISHED, FAILED, KILLED"),
        ("params.a = NULL", 11, "IS NULL"),
        ("params.a = 'unterminated", 11, "unterminated"),
        ("metrics.auc > 1 metrics.b > 2", 16, "expected AND, OR or the end"),
        ("params.m IN ()", 13, "empty IN list"),
        ("metrics.auc ~ 1", 12, "unexpected character"),
        ("metrics.auc > 1.2.3", 14, "malformed number"),
    ],
)
def test_errors_name_the_problem_and_point_at_it(text: str, column: int, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_filter(text)
    error = caught.value.message
    assert message in error
    lines = error.splitlines()
    caret = lines[-1]
    assert text in lines[-2]
    assert caret.index("^") - lines[-2].index(text) == column, error


def test_nesting_is_bounded() -> None:
    with pytest.raises(InvalidInput, match="deep"):
        parse_filter("(" * (MAX_DEPTH + 5) + "metrics.a > 1" + ")" * (MAX_DEPTH + 5))
    with pytest.raises(InvalidInput, match="deep"):
        parse_filter("not " * (MAX_DEPTH + 5) + "metrics.a > 1")


def test_order_by() -> None:
    assert parse_order_by(None) == ()
    assert parse_order_by(["metrics.auc DESC", "start_time", "params.`a b` asc"]) == (
        OrderBy(entity=Entity.METRIC, key="auc", ascending=False),
        OrderBy(entity=Entity.ATTRIBUTE, key="start_time", ascending=True),
        OrderBy(entity=Entity.PARAM, key="a b", ascending=True),
    )
    with pytest.raises(InvalidInput):
        parse_order_by(["metrics.auc DESC extra"])
