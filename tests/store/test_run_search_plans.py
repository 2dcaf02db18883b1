"""The plans PostgreSQL picks for run search on a realistic table: a page ordered by a metric walks
the latest-metric index and stops when the page is full, instead of joining and sorting every run.

The table holds a few thousand runs (statistics gathered with ANALYZE), so the planner chooses as it
would in production; planner switches such as ``enable_seqscan`` are left alone.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from modelyard.config import Settings
from modelyard.domain.search import RunQuery
from modelyard.store.db import Database
from modelyard.store.migration import ensure_schema
from modelyard.store.repos.run_search import search_runs
from modelyard.tracking.search_grammar import parse_filter, parse_order_by
from tests.store._search_statements import fill_search_store, search_statements

RUNS = 5_000
BIG_SHARE = 0.8  # of the runs in the first experiment


@pytest.fixture(scope="module")
def filled(postgres_module_url: str) -> Iterator[tuple[Database, list[str]]]:
    """A store with ``RUNS`` finished runs over two experiments (one large), each with a model
    param and auc/loss metrics (a few without auc), analysed; the db and the experiment ids."""
    db = Database(postgres_module_url)
    ensure_schema(db)
    fill_search_store(db, [1 if i < RUNS * BIG_SHARE else 2 for i in range(RUNS)])
    with db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    yield db, ["1", "2"]
    db.dispose()


@pytest.fixture(scope="module")
def postgres_module_url() -> Iterator[str]:
    """One PostgreSQL database for the module (filling it is the slow part), dropped after."""
    raw = os.environ.get("MODELYARD_TEST_POSTGRES_URL")
    if not raw:
        pytest.skip("MODELYARD_TEST_POSTGRES_URL is not set: no PostgreSQL to test against")
    admin = Settings(store_uri=raw, home=Path("/nonexistent")).store_uri
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    name = f"modelyard_test_{uuid.uuid4().hex[:12]}"
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def _plans(db: Database, query: RunQuery) -> tuple[list[str], list[str]]:
    """The page ``query`` finds, and the EXPLAIN of each statement the search ran."""
    ids, captured = search_statements(db, query)
    plans = []
    with db.engine.connect() as conn:
        for statement, parameters in captured:
            plans.append("\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + statement, parameters)))
    return ids, plans


def _query(experiment_ids: list[str], filter_string: str | None, order_by: list[str], **kw: Any) -> RunQuery:
    return RunQuery(
        experiment_ids=tuple(experiment_ids),
        filter=parse_filter(filter_string),
        order_by=parse_order_by(order_by),
        max_results=kw.pop("max_results", 100),
        **kw,
    )


@pytest.mark.parametrize("direction", ["DESC", "ASC"])
def test_a_page_ordered_by_a_metric_walks_the_metric_index(filled: tuple[Database, list[str]], direction: str) -> None:
    db, (big, _) = filled
    ids, plans = _plans(db, _query([big], "params.model = 'rf'", [f"metrics.auc {direction}"]))
    assert len(ids) == 100
    assert len(plans) == 1, "a full page needs no second statement"
    assert "ix_latest_metrics_key_value_run" in plans[0], plans[0]
    assert "Seq Scan" not in plans[0], plans[0]


def test_a_page_over_all_experiments_ordered_by_a_metric_walks_the_metric_index(
    filled: tuple[Database, list[str]],
) -> None:
    db, experiment_ids = filled
    _, plans = _plans(db, _query(experiment_ids, "metrics.auc > 0.5", ["metrics.auc DESC"]))
    assert "ix_latest_metrics_key_value_run" in plans[0], plans[0]
    assert "Seq Scan" not in plans[0], plans[0]


def test_the_default_order_walks_the_start_time_index(filled: tuple[Database, list[str]]) -> None:
    db, (big, _) = filled
    _, plans = _plans(db, _query([big], "params.model = 'rf'", []))
    assert "ix_runs_experiment_stage_start" in plans[0], plans[0]
    assert "Seq Scan" not in plans[0], plans[0]


def test_the_default_order_over_several_experiments_walks_runs_by_start_time(
    filled: tuple[Database, list[str]],
) -> None:
    db, experiment_ids = filled
    ids, plans = _plans(db, _query(experiment_ids, "params.model = 'rf'", []))
    assert len(ids) == 100
    assert "ix_runs_start_time" in plans[0], plans[0]
    assert "Seq Scan" not in plans[0], plans[0]


def test_pages_past_the_runs_with_a_value_go_on_with_the_runs_without_one(
    filled: tuple[Database, list[str]],
) -> None:
    """Every run exactly once, in order, when pages cross from valued runs to runs lacking auc."""
    db, (_, small) = filled
    everything, _ = _plans(db, _query([small], None, ["metrics.auc DESC"], max_results=10_000))
    assert len(everything) == RUNS - int(RUNS * BIG_SHARE)
    paged: list[str] = []
    page_size = 7
    for offset in range(0, len(everything), page_size):
        page, _ = _plans(db, _query([small], None, ["metrics.auc DESC"], max_results=page_size, offset=offset))
        paged.extend(page)
    assert paged == everything
    with db.read() as conn:
        lacking = {
            r
            for (r,) in conn.exec_driver_sql(
                "SELECT run_id FROM runs WHERE experiment_id = 2 AND run_id NOT IN "
                "(SELECT run_id FROM latest_metrics WHERE key = 'auc')"
            )
        }
    assert lacking and set(everything[-len(lacking) :]) == lacking


def _rows_read(db: Database, query: RunQuery) -> tuple[list[str], int, list[str]]:
    """The page ``query`` finds, the rows its statements' scans returned (EXPLAIN ANALYZE), and the
    index conditions of those scans."""
    ids, captured = search_statements(db, query)
    conditions: list[str] = []

    def scanned(node: dict[str, Any]) -> int:
        own = 0
        if "Scan" in node["Node Type"]:
            own = int(node["Actual Rows"] * node["Actual Loops"])
            conditions.append(f"{node.get('Index Name')}: {node.get('Index Cond', '')}")
        return own + sum(scanned(child) for child in node.get("Plans", []))

    total = 0
    with db.engine.connect() as conn:
        for statement, parameters in captured:
            plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters).scalar_one()
            total += scanned(plan[0]["Plan"])
    return ids, total, conditions


@pytest.mark.parametrize(
    ("order_by", "entered"),
    [
        ([], "(start_time <= "),  # either index by start time
        (["metrics.auc DESC"], "(value <= "),  # the (key, value, run_id) index
        (["metrics.auc ASC"], "(value >= "),
    ],
    ids=["default", "auc-desc", "auc-asc"],
)  # fmt: skip
def test_a_keyset_page_enters_the_index_at_its_token_where_offset_reads_every_row_before_it(
    filled: tuple[Database, list[str]], order_by: list[str], entered: str
) -> None:
    """1,000 runs deep in the big experiment: the page after a token starts where the previous page
    stopped (the first key's index is entered at the token's value); OFFSET walks the 1,000 first."""
    db, (big, _) = filled
    with db.read() as conn:
        found = search_runs(conn, _query([big], None, order_by, max_results=1_000))
    after = found[-1].keys
    by_offset, offset_rows, _ = _rows_read(db, _query([big], None, order_by, offset=1_000))
    by_keys, keyset_rows, conditions = _rows_read(db, _query([big], None, order_by, after=after))
    assert by_keys == by_offset and len(by_keys) == 100
    index = "ix_latest_metrics_key_value_run" if order_by else "_start"  # either runs index by start time
    assert any(index in c.split(":")[0] and entered in c for c in conditions), conditions
    assert offset_rows >= 1_000
    assert keyset_rows < offset_rows / 2, (keyset_rows, offset_rows)


def test_a_filter_bound_on_the_sorted_metric_bounds_the_index_walk(filled: tuple[Database, list[str]]) -> None:
    """``metrics.auc > 0.9 ... ORDER BY metrics.auc``: the bound enters the index condition, so a
    rare match among many runs walks the runs above 0.9 only, and no second statement looks for
    runs lacking auc (they fail the bound)."""
    db, experiment_ids = filled
    query = _query(experiment_ids, "metrics.auc > 0.9 and params.model = 'nope'", ["metrics.auc DESC"])
    ids, read, conditions = _rows_read(db, query)
    assert ids == []
    walk = [c for c in conditions if c.startswith("ix_latest_metrics_key_value_run:")]
    assert len(walk) == 1 and "(value > " in walk[0], conditions
    with db.read() as conn:
        above = conn.exec_driver_sql(
            "SELECT count(*) FROM latest_metrics WHERE key = 'auc' AND value > 0.9"
        ).scalar_one()
    assert read <= 3 * above + 10, (read, above)  # the index walk, then a probe or two per run walked
    _, plans = _plans(db, query)
    assert len(plans) == 1, plans


def test_each_run_walked_is_checked_by_an_index_only_probe(filled: tuple[Database, list[str]]) -> None:
    """The walk looks up each run's experiment, stage and status in ``ix_runs_search_probe`` (migration
    0018), not the runs table: at 1,000,000 runs those random reads were most of a page's time."""
    db, (big, _) = filled
    with db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM runs")  # index-only needs it
    _, plans = _plans(db, _query([big], "metrics.auc > 0.5 and attributes.status = 'FINISHED'", ["metrics.auc DESC"]))
    assert "Index Only Scan using ix_runs_search_probe on runs" in plans[0], plans[0]
