"""The plans SQLite runs for a page ordered by a metric (the web UI's runs table sorted by a metric
column): the latest-metric index is walked and the page stops when it is full, instead of joining
and sorting every run of the experiment (0.7-1 s for a page at 100,000 runs; 9-12 ms walked)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from modelyard.domain.search import RunQuery
from modelyard.store.db import Database
from modelyard.store.migration import ensure_schema
from modelyard.store.tables import latest_metrics, runs
from modelyard.tracking.search_grammar import parse_filter, parse_order_by
from tests.store._search_statements import fill_search_store, search_statements

RUNS = 3_000


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """``RUNS`` runs in experiment 1, each with a model param and auc/loss (every 50th lacks auc)."""
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('plans') / 'store.db'}")
    ensure_schema(db)
    fill_search_store(db, [1] * RUNS)
    yield db
    db.dispose()


def _plans(db: Database, query: RunQuery) -> tuple[list[str], list[str]]:
    """The page ``query`` finds, and the EXPLAIN QUERY PLAN of each statement the search ran."""
    ids, captured = search_statements(db, query)
    plans = []
    with db.engine.connect() as conn:
        for statement, parameters in captured:
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            plans.append("\n".join(str(row[-1]) for row in rows))
    return ids, plans


def _query(filter_string: str | None, order_by: list[str], **kw: Any) -> RunQuery:
    return RunQuery(
        experiment_ids=("1",),
        filter=parse_filter(filter_string),
        order_by=parse_order_by(order_by),
        max_results=kw.pop("max_results", 51),
        **kw,
    )


@pytest.mark.parametrize("direction", ["DESC", "ASC"])
def test_a_page_ordered_by_a_metric_walks_the_metric_index(filled: Database, direction: str) -> None:
    ids, plans = _plans(filled, _query("metrics.auc > 0.5 and params.model = 'rf'", [f"metrics.auc {direction}"]))
    assert len(ids) == 51
    assert len(plans) == 1, "a full page needs no second statement"
    assert plans[0].splitlines()[0].startswith("SEARCH order_0 USING COVERING INDEX ix_latest_metrics_key_value_run")
    assert "USE TEMP B-TREE FOR ORDER BY" not in plans[0], plans[0]  # no sort of every run


def test_pages_past_the_runs_with_a_value_go_on_with_the_runs_without_one(filled: Database) -> None:
    """Every run exactly once, in the documented order, when pages cross from runs with auc to runs without."""
    everything, _ = _plans(filled, _query(None, ["metrics.auc DESC"], max_results=10_000))
    assert len(everything) == RUNS
    paged: list[str] = []
    for offset in range(0, RUNS, 97):
        page, _ = _plans(filled, _query(None, ["metrics.auc DESC"], max_results=97, offset=offset))
        paged.extend(page)
    assert paged == everything
    with filled.read() as conn:
        auc = select(latest_metrics.c.run_id, latest_metrics.c.value).where(latest_metrics.c.key == "auc")
        valued: dict[str, float] = {r: v for r, v in conn.execute(auc)}
        started: dict[str, int] = {r: t for r, t in conn.execute(select(runs.c.run_id, runs.c.start_time))}
    expected = sorted(valued, key=lambda r: -valued[r])
    expected += sorted(set(started) - set(valued), key=lambda r: -started[r])  # no auc: last, newest first
    assert everything == expected
