"""Metrics: full history, the latest value by step then time, NaN and infinities kept as they are."""

from __future__ import annotations

import math

import pytest

from modelyard.domain.tracking import Metric
from modelyard.errors import Conflict, InvalidInput, NotFound
from modelyard.tracking import make_metric
from tracking.conftest import Tracking


def _m(key: str, value: float, step: int = 0, ts: int = 1000) -> Metric:
    return Metric(key=key, value=value, step=step, timestamp=ts)


def test_full_history_in_step_order(tracking: Tracking) -> None:
    run_id = tracking.new_run()
    tracking.metrics.log(run_id, [_m("loss", 0.5, step=2), _m("loss", 0.9, step=0)])
    tracking.metrics.log(run_id, [_m("loss", 0.7, step=1), _m("loss", 0.7, step=1, ts=999)])
    history = tracking.metrics.history(run_id, "loss")
    assert [(m.step, m.value, m.timestamp) for m in history] == [
        (0, 0.9, 1000),
        (1, 0.7, 999),
        (1, 0.7, 1000),
        (2, 0.5, 1000),
    ]
    assert tracking.metrics.history(run_id, "other") == []


def test_latest_is_highest_step_then_latest_time(tracking: Tracking) -> None:
    run_id = tracking.new_run()
    tracking.metrics.log(run_id, [_m("acc", 0.8, step=5, ts=10)])
    tracking.metrics.log(run_id, [_m("acc", 0.1, step=4, ts=99)])  # an older step logged later
    assert tracking.runs.get(run_id).data.metrics == {"acc": 0.8}
    tracking.metrics.log(run_id, [_m("acc", 0.85, step=5, ts=11)])
    assert tracking.runs.get(run_id).data.metrics == {"acc": 0.85}
    tracking.metrics.log(run_id, [_m("acc", 0.9, step=6, ts=1), _m("acc", 0.2, step=6, ts=0)])
    assert tracking.runs.get(run_id).data.metrics == {"acc": 0.9}


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), 1e308, -0.0, 5e-324])
def test_extreme_values_round_trip(tracking: Tracking, value: float) -> None:
    run_id = tracking.new_run()
    tracking.metrics.log(run_id, [_m("x", value)])
    assert tracking.metrics.history(run_id, "x")[0].value == value
    assert tracking.runs.get(run_id).data.metrics["x"] == value


def test_nan_is_stored_faithfully(tracking: Tracking) -> None:
    run_id = tracking.new_run()
    tracking.metrics.log(run_id, [_m("x", 1.0, step=0), _m("x", float("nan"), step=1)])
    history = tracking.metrics.history(run_id, "x")
    assert history[0].value == 1.0 and math.isnan(history[1].value)
    assert math.isnan(tracking.runs.get(run_id).data.metrics["x"])


def test_make_metric_validates_where_it_is_called() -> None:
    metric = make_metric("m", 3, step=None, timestamp=5)
    assert metric == Metric(key="m", value=3.0, step=0, timestamp=5)
    assert isinstance(metric.value, float)
    for bad_value in ("1.0", True, None):
        with pytest.raises(InvalidInput, match="must be a number"):
            make_metric("m", bad_value)
    with pytest.raises(InvalidInput, match="step"):
        make_metric("m", 1.0, step=1.5)
    with pytest.raises(InvalidInput, match="timestamp"):
        make_metric("m", 1.0, timestamp="now")
    with pytest.raises(InvalidInput, match="metric key"):
        make_metric("", 1.0)


def test_numpy_scalars_are_numbers() -> None:
    np = pytest.importorskip("numpy")
    assert make_metric("m", np.float32(0.5), step=np.int64(3)).step == 3


def test_unknown_or_deleted_runs_are_refused(tracking: Tracking) -> None:
    with pytest.raises(NotFound):
        tracking.metrics.log("f" * 32, [_m("x", 1.0)])
    with pytest.raises(NotFound):
        tracking.metrics.history("f" * 32, "x")
    run_id = tracking.new_run()
    tracking.runs.delete(run_id)
    with pytest.raises(Conflict, match="is deleted"):
        tracking.metrics.log(run_id, [_m("x", 1.0)])


def test_an_empty_batch_is_a_no_op(tracking: Tracking) -> None:
    run_id = tracking.new_run()
    tracking.metrics.log(run_id, [])
    assert tracking.runs.get(run_id).data.metrics == {}
