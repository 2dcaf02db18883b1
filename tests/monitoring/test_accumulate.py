"""Merging partial windows: counts and sums exactly as one pass gives them, samples uniform over the parts."""

from __future__ import annotations

import itertools
import sys

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chisquare
from sklearn.metrics import mean_absolute_error, r2_score

from modelyard.domain.inference import InferenceSegment
from modelyard.domain.monitoring import Monitor, Task
from modelyard.errors import BackendUnavailable
from modelyard.monitoring.accumulate import WindowAccumulator
from modelyard.monitoring.performance import RegressionAccumulator
from modelyard.monitoring.ray_windows import RayWindows, split_segments
from modelyard.monitoring.windows import ReservoirSample

T0 = 1_767_225_600_000


def monitor(task: Task = Task.AUTO, max_sample_rows: int = 100_000) -> Monitor:
    return Monitor(
        name="m",
        deployment="d",
        reference="datasets:/r@x",
        window_ms=3_600_000,
        every_rows=None,
        target="label",
        task=task,
        thresholds={},
        cursor_ms=T0,
        max_sample_rows=max_sample_rows,
        created_ms=T0,
        created_by="test",
    )


def log_chunks(rng: np.random.Generator, sizes: list[int], *, regression: bool = False) -> list[pd.DataFrame]:
    """Inference log chunks: 5 rows per request, a third labelled, a few null predictions."""
    out, request = [], 0
    for size in sizes:
        n_requests = size // 5
        age = rng.normal(40, 10, size)
        prediction: pd.Series
        if regression:
            label = 1e6 + rng.normal(0, 3, size)  # a large offset: R^2 must still be accurate
            prediction = pd.Series(label + rng.normal(0, 1, size))
        else:
            label = (age + rng.normal(0, 5, size) > 45).astype(int)
            prediction = pd.Series((age > 45).astype(float))
            prediction[rng.random(size) < 0.02] = np.nan
        labels = pd.Series(label, dtype=object)
        labels[rng.random(size) < 0.67] = None
        ids = np.repeat([f"r{request + i}" for i in range(n_requests)], 5)
        out.append(
            pd.DataFrame(
                {
                    "input.age": age,
                    "input.plan": rng.choice(["basic", "pro"], size),
                    "prediction": prediction,
                    "probability": [None] * size,
                    "latency_ms": np.repeat(rng.gamma(2.0, 5.0, n_requests), 5),
                    "request_id": ids,
                    "row": np.tile(np.arange(5), n_requests),
                    "time_ms": T0 + np.arange(size),
                    "label": labels,
                }
            )
        )
        request += n_requests
    return out


def one_pass(m: Monitor, chunks: list[pd.DataFrame]) -> WindowAccumulator:
    window = WindowAccumulator(m, T0, T0 + 3_600_000)
    for chunk in chunks:
        window.add(chunk)
    return window


def in_parts(m: Monitor, chunks: list[pd.DataFrame], cuts: list[int]) -> WindowAccumulator:
    """Chunks split at ``cuts`` into parts accumulated apart (as Ray tasks do), merged in order."""
    bounds = [0, *cuts, len(chunks)]
    parts = []
    for part, (a, b) in enumerate(itertools.pairwise(bounds)):
        acc = WindowAccumulator(m, T0, T0 + 3_600_000, part=part)
        for chunk in chunks[a:b]:
            acc.add(chunk)
        parts.append(acc)
    merged = parts[0]
    for acc in parts[1:]:
        merged.merge(acc)
    return merged


@pytest.mark.parametrize("regression", [False, True])
def test_merged_parts_equal_one_pass_exactly_below_the_cap(regression: bool) -> None:
    chunks = log_chunks(np.random.default_rng(1), [400, 250, 600, 150, 500, 300], regression=regression)
    m = monitor()
    single = one_pass(m, chunks)
    merged = in_parts(m, chunks, [1, 4])
    assert (merged.rows, merged.requests, merged.null_predictions) == (
        single.rows,
        single.requests,
        single.null_predictions,
    )
    assert merged.task is single.task is (Task.REGRESSION if regression else Task.CLASSIFICATION)
    assert merged.operational() == single.operational()  # error rate and latency percentiles, bit for bit
    assert merged.performance() == single.performance()
    assert not merged.sample.sampled
    pd.testing.assert_frame_equal(merged.sample.frame(), single.sample.frame())  # whole window, log order
    if regression:
        labelled = pd.concat(chunks).dropna(subset=["label"])
        y, p = labelled["label"].astype(float), labelled["prediction"]
        assert merged.performance()["mae"] == pytest.approx(mean_absolute_error(y, p), rel=1e-12)
        assert merged.performance()["r2"] == pytest.approx(r2_score(y, p), rel=1e-9)


def test_a_part_without_labels_takes_the_task_of_the_part_with_them() -> None:
    chunks = log_chunks(np.random.default_rng(2), [300, 300])
    chunks[0]["label"] = None
    merged = in_parts(monitor(), chunks, [1])
    assert merged.task is Task.CLASSIFICATION and merged.performance() == one_pass(monitor(), chunks).performance()
    clash = WindowAccumulator(monitor(), T0, T0 + 1, part=1, task=Task.REGRESSION)
    clash.add(log_chunks(np.random.default_rng(3), [100], regression=True)[0])
    with pytest.raises(ValueError, match="cannot merge"):
        merged.merge(clash)


def test_counts_stay_exact_above_the_cap_and_the_sample_stays_capped() -> None:
    chunks = log_chunks(np.random.default_rng(4), [800, 700, 900, 600])
    m = monitor(max_sample_rows=500)
    single, merged = one_pass(m, chunks), in_parts(m, chunks, [2, 3])
    assert (merged.rows, merged.requests, merged.null_predictions) == (
        single.rows,
        single.requests,
        single.null_predictions,
    )
    assert merged.operational()["error_rate"] == single.operational()["error_rate"]
    assert merged.classification.confusion == single.classification.confusion
    for key in ("accuracy", "precision", "recall", "f1", "labelled_rows"):
        assert merged.performance()[key] == single.performance()[key]
    assert merged.sample.sampled and merged.sample.seen == 3000 and len(merged.sample.frame()) == 500
    assert len(merged.latency.frame()) == 500 and merged.latency.seen == 600  # first rows of 600 requests


def test_regression_sums_do_not_depend_on_the_grouping() -> None:
    rng = np.random.default_rng(5)
    chunks = [(pd.Series(1e9 + rng.normal(0, 1, n)), pd.Series(1e9 + rng.normal(0, 1, n))) for n in (7, 300, 51, 999)]
    one = RegressionAccumulator()
    for t, p in chunks:
        one.add(t, p)
    left, right = RegressionAccumulator(), RegressionAccumulator()
    for t, p in chunks[:1]:
        left.add(t, p)
    for t, p in chunks[1:]:
        right.add(t, p)
    left.merge(right)
    assert left.metrics() == one.metrics()
    y = pd.concat([t for t, _ in chunks])
    p = pd.concat([p for _, p in chunks])
    assert one.metrics()["r2"] == pytest.approx(r2_score(y, p), abs=1e-9)


def test_merged_reservoir_draws_each_part_in_proportion_to_its_rows() -> None:
    """Parts of 1,000, 3,000 and 6,000 rows into a 500-row sample, 200 times with fixed seeds: the
    share drawn from each part, and from each tenth of the rows, fits uniform (chi-square)."""
    sizes, cap = [1_000, 3_000, 6_000], 500
    from_part = np.zeros(3)
    by_tenth = np.zeros(10)
    for trial in range(200):
        merged: ReservoirSample | None = None
        offset = 0
        for part, size in enumerate(sizes):
            sample = ReservoirSample(cap, seed=trial * 10 + part)
            for start in range(0, size, 700):  # in chunks, so each part compacts on its own
                stop = min(size, start + 700)
                sample.add(pd.DataFrame({"part": part, "i": np.arange(offset + start, offset + stop)}))
            offset += size
            if merged is None:
                merged = sample
            else:
                merged.merge(sample)
        assert merged is not None
        drawn = merged.frame()
        assert len(drawn) == cap and merged.seen == sum(sizes) and drawn["i"].is_unique
        assert drawn["i"].is_monotonic_increasing  # arrival order kept
        from_part += np.bincount(drawn["part"], minlength=3)
        by_tenth += np.bincount(drawn["i"] * 10 // sum(sizes), minlength=10)
    total = 200 * cap
    assert chisquare(from_part, np.array(sizes) / sum(sizes) * total).pvalue > 0.01
    assert chisquare(by_tenth, np.full(10, total / 10)).pvalue > 0.01
    # Not vacuous: a merge that took each part's sample in equal shares would fail the same check.
    equal_shares = np.full(3, total / 3)
    assert chisquare(equal_shares, np.array(sizes) / sum(sizes) * total).pvalue < 1e-6


def test_samples_with_different_caps_do_not_merge() -> None:
    a, b = ReservoirSample(10), ReservoirSample(20, seed=1)
    with pytest.raises(Exception, match="capped at 20 and 10"):
        a.merge(b)


def segment(i: int, rows: int) -> InferenceSegment:
    return InferenceSegment(
        id=f"s{i}", deployment="d", start_ms=T0 + i, end_ms=T0 + i, row_count=rows, uri=f"s{i}.parquet", created_ms=T0
    )


def test_segments_split_into_contiguous_groups_of_about_equal_rows() -> None:
    segments = [segment(i, rows) for i, rows in enumerate([100, 100, 100, 100, 400, 100, 100])]
    groups = split_segments(segments, 3)
    assert [s for g in groups for s in g] == segments  # log order kept, nothing lost
    assert [[s.id for s in g] for g in groups] == [["s0", "s1", "s2", "s3"], ["s4"], ["s5", "s6"]]  # 400, 400, 200 rows
    assert len(split_segments(segments[:2], 8)) == 2  # never more groups than segments
    assert split_segments([segment(0, 0), segment(1, 0)], 2) == [[segment(0, 0)], [segment(1, 0)]]


def test_without_ray_a_ray_run_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # what an installation without the extra sees
    with (
        pytest.raises(BackendUnavailable, match=r"pip install 'modelyard\[ray\]'"),
        RayWindows(lambda *_: iter(()), chunk_rows=10),
    ):
        pass
