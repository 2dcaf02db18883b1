"""Run search end to end (parser, SQL, paging) with the same answers on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from modelyard.domain.tracking import Metric, RunStatus
from modelyard.errors import InvalidInput
from tracking.conftest import Tracking


@pytest.fixture
def seeded(tracking: Tracking) -> tuple[Tracking, str, dict[str, str]]:
    """Five runs in one experiment with known metrics, params, tags and statuses; name -> id."""
    experiment_id = tracking.experiments.create("search")
    spec = {
        "rf-good": ({"auc": 0.95}, {"model": "rf"}, {"team": "risk"}, RunStatus.FINISHED),
        "rf-bad": ({"auc": 0.70}, {"model": "rf"}, {"team": "risk"}, RunStatus.FINISHED),
        "rf-running": ({"auc": 0.97}, {"model": "rf"}, {"team": "risk"}, RunStatus.RUNNING),
        "gbm": ({"auc": 0.93}, {"model": "gbm"}, {"team": "Risk"}, RunStatus.FAILED),
        "empty": ({"auc": float("nan")}, {}, {}, RunStatus.FINISHED),
    }
    ids: dict[str, str] = {}
    for name, (metrics, params, tags, status) in spec.items():
        tracking.clock.advance(1000)
        run_id = tracking.new_run(experiment_id, run_name=name, tags=tags)
        tracking.runs.log_params(run_id, params)
        tracking.metrics.log(run_id, [Metric(key=k, value=v, timestamp=1, step=0) for k, v in metrics.items()])
        if status is not RunStatus.RUNNING:
            tracking.runs.end(run_id, status)
        ids[name] = run_id
    return tracking, experiment_id, ids


def _names(tracking: Tracking, experiment_id: str, filter_string: str | None = None, **kw: object) -> list[str]:
    page = tracking.search.search([experiment_id], filter_string, **kw)  # type: ignore[arg-type]
    return [r.info.run_name for r in page]


def test_the_issue_example(seeded: tuple[Tracking, str, dict[str, str]]) -> None:
    tracking, experiment_id, _ = seeded
    found = _names(
        tracking,
        experiment_id,
        "metrics.auc > 0.9 and params.model = 'rf' and tags.team = 'risk' and attributes.status = 'FINISHED'",
    )
    assert found == ["rf-good"]


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("metrics.auc >= 0.93", {"rf-good", "rf-running", "gbm"}),
        ("metrics.auc != 0.95", {"rf-bad", "rf-running", "gbm"}),  # NaN matches no comparison
        ("metrics.auc IS NULL", set()),  # the NaN run has the key
        ("metrics.loss IS NULL", {"rf-good", "rf-bad", "rf-running", "gbm", "empty"}),
        ("params.model != 'rf'", {"gbm"}),  # runs without the param do not match
        ("params.model IS NULL", {"empty"}),
        ("params.model IN ('rf', 'gbm') AND NOT attributes.status = 'FINISHED'", {"rf-running", "gbm"}),
        ("tags.team LIKE 'R%'", {"gbm"}),  # LIKE is case-sensitive on both engines
        ("tags.team ILIKE 'r%'", {"rf-good", "rf-bad", "rf-running", "gbm"}),
        ("run_name LIKE 'rf-%' OR metrics.auc < 0.94", {"rf-good", "rf-bad", "rf-running", "gbm"}),
        ("attributes.status NOT IN ('FINISHED', 'FAILED')", {"rf-running"}),
        ("attributes.end_time IS NULL", {"rf-running"}),
        ("NOT (attributes.end_time > 0)", {"rf-running"}),
        ('metrics.`auc` > 0.9 AND metrics."auc" < 0.96', {"rf-good", "gbm"}),
        ("tags.team = 'risk' AND (metrics.auc < 0.8 OR metrics.auc > 0.96)", {"rf-bad", "rf-running"}),
    ],
)
def test_filters(seeded: tuple[Tracking, str, dict[str, str]], filter_string: str, expected: set[str]) -> None:
    tracking, experiment_id, _ = seeded
    assert set(_names(tracking, experiment_id, filter_string)) == expected


def test_order_by_puts_missing_and_nan_last_both_ways(seeded: tuple[Tracking, str, dict[str, str]]) -> None:
    tracking, experiment_id, _ = seeded
    assert _names(tracking, experiment_id, order_by=["metrics.auc DESC"]) == [
        "rf-running",
        "rf-good",
        "gbm",
        "rf-bad",
        "empty",
    ]
    assert _names(tracking, experiment_id, order_by=["metrics.auc"]) == [
        "rf-bad",
        "gbm",
        "rf-good",
        "rf-running",
        "empty",
    ]
    by_param = _names(tracking, experiment_id, order_by=["params.model ASC", "metrics.auc DESC"])
    assert by_param == ["gbm", "rf-running", "rf-good", "rf-bad", "empty"]


def test_default_order_is_newest_first(seeded: tuple[Tracking, str, dict[str, str]]) -> None:
    tracking, experiment_id, _ = seeded
    assert _names(tracking, experiment_id) == ["empty", "gbm", "rf-running", "rf-bad", "rf-good"]


def test_pages_cover_every_run_once(seeded: tuple[Tracking, str, dict[str, str]]) -> None:
    tracking, experiment_id, ids = seeded
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        page = tracking.search.search([experiment_id], None, ["metrics.auc DESC"], max_results=2, page_token=token)
        seen += [r.info.run_id for r in page]
        pages += 1
        token = page.token
        if token is None:
            break
    assert pages == 3
    assert sorted(seen) == sorted(ids.values())


def test_results_carry_data(seeded: tuple[Tracking, str, dict[str, str]]) -> None:
    tracking, experiment_id, _ = seeded
    (run,) = tracking.search.search([experiment_id], "attributes.run_name = 'gbm'")
    assert (
        run.data.params == {"model": "gbm"} and run.data.metrics == {"auc": 0.93} and run.data.tags == {"team": "Risk"}
    )


def test_deleted_runs_and_view_types(seeded: tuple[Tracking, str, dict[str, str]]) -> None:
    tracking, experiment_id, ids = seeded
    tracking.runs.delete(ids["gbm"])
    assert "gbm" not in _names(tracking, experiment_id)
    assert _names(tracking, experiment_id, view="DELETED_ONLY") == ["gbm"]
    assert len(_names(tracking, experiment_id, view="all")) == 5
    with pytest.raises(InvalidInput, match="unknown run view"):
        _names(tracking, experiment_id, view="SOME")


def test_searching_several_experiments(tracking: Tracking) -> None:
    a = tracking.experiments.create("a")
    b = tracking.experiments.create("b")
    c = tracking.experiments.create("c")
    for experiment_id in (a, b, c):
        tracking.new_run(experiment_id, run_name=f"in-{experiment_id}")
    found = {r.info.run_name for r in tracking.search.search([a, b])}
    assert found == {f"in-{a}", f"in-{b}"}
    assert list(tracking.search.search([])) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_results": 0}, "max_results must be between 1 and 50000"),
        ({"max_results": 50_001}, "max_results must be between 1 and 50000"),
        ({"page_token": "not-a-token"}, "invalid page token"),
        ({"order_by": ["metrics.auc SIDEWAYS"]}, "SIDEWAYS"),
    ],
)
def test_bad_arguments(tracking: Tracking, kwargs: dict[str, object], message: str) -> None:
    experiment_id = tracking.experiments.create("e")
    with pytest.raises(InvalidInput, match=message):
        tracking.search.search([experiment_id], None, **kwargs)  # type: ignore[arg-type]


def test_a_bad_experiment_id_is_invalid_input(tracking: Tracking) -> None:
    with pytest.raises(InvalidInput, match="experiment ids are whole numbers"):
        tracking.search.search(["abc"])


def test_user_text_is_data_not_sql(seeded: tuple[Tracking, str, dict[str, str]]) -> None:
    tracking, experiment_id, _ = seeded
    assert _names(tracking, experiment_id, "params.model = 'rf'' OR ''1''=''1'") == []
    assert len(_names(tracking, experiment_id)) == 5  # nothing was dropped


def _many_runs(tracking: Tracking, count: int = 60) -> str:
    experiment_id = tracking.experiments.create("big")
    for index in range(count):
        run_id = tracking.new_run(experiment_id, run_name=f"r{index}")
        tracking.metrics.log(run_id, [Metric(key=f"m{k}", value=float(index), timestamp=1, step=0) for k in range(10)])
    return experiment_id


def test_the_largest_filter_and_sort_allowed_run_on_every_backend(tracking: Tracking) -> None:
    """100 AND-ed metric comparisons and 10 sort keys: SQLite's expression-depth limit gave a raw
    error at 1,200 terms, and PostgreSQL planned hundreds of EXISTS for minutes."""
    experiment_id = _many_runs(tracking)
    filter_string = " and ".join(f"metrics.m{k % 10} >= {k % 7}" for k in range(100))
    order_by = [f"metrics.m{k} DESC" for k in range(10)]
    page = tracking.search.search([experiment_id], filter_string, order_by, max_results=100)
    assert [r.info.run_name for r in page] == [f"r{i}" for i in range(59, 5, -1)]


@pytest.mark.parametrize(
    "filter_string, order_by, message",
    [
        (" and ".join(["metrics.m0 > 1"] * 101), None, "more than 100 comparisons"),
        ("params.p IN (" + ", ".join(f"'{i}'" for i in range(1001)) + ")", None, "more than 1000 values"),
        (None, [f"metrics.m{k} DESC" for k in range(11)], "at most 10"),
        ("params.model = 'r\x00f'", None, "NUL byte"),
        (None, ["metrics.`a\x00b` DESC"], "NUL byte"),
        ("metrics.m0 > 1 or " * 30_000 + "metrics.m0 > 1", None, "the limit is 100,000"),
    ],
)
def test_oversized_filters_and_nul_bytes_are_invalid_input(
    tracking: Tracking, filter_string: str | None, order_by: list[str] | None, message: str
) -> None:
    experiment_id = tracking.experiments.create("limits")
    with pytest.raises(InvalidInput, match=message):
        tracking.search.search([experiment_id], filter_string, order_by)


def test_a_search_that_runs_too_long_is_stopped_with_a_clear_error(
    tracking: Tracking, monkeypatch: pytest.MonkeyPatch
) -> None:
    import modelyard.tracking.search as search_module

    experiment_id = _many_runs(tracking)
    monkeypatch.setattr(search_module, "SEARCH_TIMEOUT_S", 1e-9)
    filter_string = " and ".join(f"metrics.m{k % 10} >= {k % 7}" for k in range(100))
    with pytest.raises(InvalidInput, match="ran longer than"):
        tracking.search.search([experiment_id], filter_string)
    monkeypatch.setattr(search_module, "SEARCH_TIMEOUT_S", 30.0)
    assert len(tracking.search.search([experiment_id], filter_string)) == 54  # the connection still works


def test_postgresql_plans_metric_filters_as_per_run_probes_not_joins(tracking: Tracking) -> None:
    """Each term a SubPlan of a primary-key lookup: planning and running grow linearly with terms."""
    if tracking.db.dialect != "postgresql":
        pytest.skip("the plan shape is PostgreSQL's")
    from sqlalchemy import event

    experiment_id = _many_runs(tracking, count=5)
    captured: list[tuple[str, object]] = []

    def capture(conn: object, cursor: object, statement: str, parameters: object, *_: object) -> None:
        if "latest_metrics" in statement and not statement.startswith("EXPLAIN"):
            captured.append((statement, parameters))

    event.listen(tracking.db.engine, "before_cursor_execute", capture)
    try:
        tracking.search.search([experiment_id], " and ".join(f"metrics.m{k % 10} > 0" for k in range(100)))
    finally:
        event.remove(tracking.db.engine, "before_cursor_execute", capture)
    statement, parameters = captured[0]
    with tracking.db.engine.connect() as conn:
        plan = "\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + statement, parameters))  # type: ignore[arg-type]
    assert "Semi Join" not in plan and "Hash Join" not in plan
    assert plan.count("SubPlan") >= 1
