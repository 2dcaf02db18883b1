"""Keyset page tokens: paging through a search with its tokens yields every run once, in the
order of one unpaged search, whatever the order (metrics with ties, gaps and NaN, params, nullable
attributes, the default), on SQLite and PostgreSQL; and a token stays valid across writes."""

from __future__ import annotations

import base64
import json
import math

import pytest

from modelyard.domain.tracking import Metric, RunStatus
from tracking.conftest import Tracking

ORDERS = [
    [],
    ["metrics.auc DESC"],
    ["metrics.auc ASC"],
    ["metrics.auc DESC", "params.model ASC"],
    ["params.model ASC"],
    ["params.model DESC", "metrics.loss ASC"],
    ["attributes.end_time DESC"],
    ["attributes.run_name ASC"],
    ["tags.team ASC"],
]


@pytest.fixture
def experiment(tracking: Tracking) -> str:
    """23 runs: auc with ties, missing on some and NaN on others; model param missing on some;
    several runs sharing a start time (ties broken by run id); a few still running (no end time)."""
    experiment_id = tracking.experiments.get_or_create("pages").experiment_id
    for i in range(23):
        if i % 3 == 0:
            tracking.clock.advance(1_000)  # runs in threes share a start time
        run_id = tracking.new_run(experiment_id, run_name=f"run-{i % 7}", tags={"team": f"t{i % 2}"})
        if i % 5:
            tracking.runs.log_params(run_id, {"model": ("rf", "gbm", "lr")[i % 3]})
        metrics = [Metric(key="loss", value=float(i % 4), timestamp=1, step=0)]
        if i % 6 == 1:
            metrics.append(Metric(key="auc", value=math.nan, timestamp=1, step=0))
        elif i % 6 != 2:
            metrics.append(Metric(key="auc", value=round((i % 5) / 10, 1), timestamp=1, step=0))
        tracking.metrics.log(run_id, metrics)
        if i % 4:
            tracking.runs.end(run_id, RunStatus.FINISHED, end_time=1_700_000_000_000 + i // 2)
    return experiment_id


def _paged(
    tracking: Tracking, experiment_id: str, order_by: list[str], size: int, filter_string: str | None = None
) -> list[str]:
    seen: list[str] = []
    token: str | None = None
    while True:
        page = tracking.search.search([experiment_id], filter_string, order_by, max_results=size, page_token=token)
        seen += [r.info.run_id for r in page]
        if page.token is None:
            return seen
        assert "after" in json.loads(base64.urlsafe_b64decode(page.token))  # keys, not an offset
        token = page.token


@pytest.mark.parametrize("order_by", ORDERS, ids=lambda o: ",".join(o) or "default")
def test_keyset_pages_match_one_unpaged_search(tracking: Tracking, experiment: str, order_by: list[str]) -> None:
    everything = [r.info.run_id for r in tracking.search.search([experiment], None, order_by, max_results=1000)]
    assert len(everything) == 23
    for size in (1, 4, 22):
        assert _paged(tracking, experiment, order_by, size) == everything, size


def test_a_token_continues_past_its_run_after_new_runs_arrive(tracking: Tracking, experiment: str) -> None:
    """An offset would shift when runs are added before the page; keys do not."""
    first = tracking.search.search([experiment], None, ["metrics.auc DESC"], max_results=5)
    expected = tracking.search.search([experiment], None, ["metrics.auc DESC"], max_results=5, page_token=first.token)
    newcomer = tracking.new_run(experiment)
    tracking.metrics.log(newcomer, [Metric(key="auc", value=0.99, timestamp=1, step=0)])  # sorts first
    again = tracking.search.search([experiment], None, ["metrics.auc DESC"], max_results=5, page_token=first.token)
    assert [r.info.run_id for r in again] == [r.info.run_id for r in expected]


def test_an_offset_token_of_an_earlier_version_still_pages(tracking: Tracking, experiment: str) -> None:
    everything = [r.info.run_id for r in tracking.search.search([experiment], None, ["params.model ASC"])]
    legacy = base64.urlsafe_b64encode(json.dumps({"offset": 20}).encode()).decode()
    page = tracking.search.search([experiment], None, ["params.model ASC"], max_results=10, page_token=legacy)
    assert [r.info.run_id for r in page] == everything[20:]


@pytest.mark.parametrize("bound", ["metrics.auc > 0.1", "metrics.auc >= 0.2 and tags.team = 't1'", "metrics.auc < 0.3"])
@pytest.mark.parametrize("direction", ["DESC", "ASC"])
def test_a_bound_on_the_sorted_metric_finds_what_the_filter_alone_finds(
    tracking: Tracking, experiment: str, bound: str, direction: str
) -> None:
    """The search repeats the filter's bound on the sorted metric's row and skips the runs that lack
    the metric: the page must equal the runs the filter selects, sorted in Python."""
    everything = tracking.search.search([experiment], None, [], max_results=1000)
    match = tracking.search.search([experiment], bound, [f"metrics.auc {direction}"], max_results=1000)
    ordered = tracking.search.search([experiment], None, [f"metrics.auc {direction}"], max_results=1000)
    expected_ids = {r.info.run_id for r in tracking.search.search([experiment], bound, [], max_results=1000)}
    assert {r.info.run_id for r in match} == expected_ids and expected_ids
    assert all("auc" in r.data.metrics for r in match)
    rank = {r.info.run_id: i for i, r in enumerate(ordered)}
    assert [r.info.run_id for r in match] == sorted(expected_ids, key=rank.__getitem__)
    assert len(everything) == 23
    for size in (1, 4):
        assert _paged(tracking, experiment, [f"metrics.auc {direction}"], size, bound) == [r.info.run_id for r in match]
