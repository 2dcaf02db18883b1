"""Shadows: recorded, never returned, and a failing or slow shadow never fails the caller."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pandas as pd

from modelyard.models import Predictor
from modelyard.serving import DeploymentPlan, Mode, ServingPlan, Variant
from modelyard.serving.metrics import ServingMetrics
from modelyard.serving.shadow import ShadowRunner, compare
from tests.serving.conftest import ServerFactory, primary, rows


def _plan(blue: Predictor, *shadows: tuple[str, Predictor]) -> ServingPlan:
    variants = [primary(blue)]
    variants += [Variant(name=n, model_version=f"churn/{n}", predictor=p, mode=Mode.SHADOW) for n, p in shadows]
    return ServingPlan([DeploymentPlan(name="churn", variants=tuple(variants))])


def test_shadow_answers_are_recorded_and_never_returned(
    server_factory: ServerFactory,
    classifier: Predictor,
    constant_one: Predictor,
    failing: Predictor,
    frame: pd.DataFrame,
) -> None:
    server = server_factory(_plan(classifier, ("always-one", constant_one), ("broken", failing)))
    sent = 20
    with httpx.Client(base_url=server.url) as client:
        for i in range(sent):
            body = rows(frame.iloc[i * 3 :], 3)
            answer = client.post("/v1/deployments/churn/predict", json=body, headers={"x-request-id": f"r{i}"})
            assert answer.status_code == 200
            assert answer.headers["x-modelyard-variant"] == "blue"
            assert answer.json()["predictions"] == classifier.predict(pd.DataFrame(body)).tolist()
    shadows = server.app.state.shadows  # type: ignore[attr-defined]
    assert shadows.wait_idle(30)

    stats = shadows.stats()
    assert stats[("churn", "always-one")].requests == sent
    assert stats[("churn", "broken")].errors == sent
    assert stats[("churn", "broken")].requests == 0
    labels = classifier.predict(frame.head(sent * 3))
    expected_disagreements = int(np.count_nonzero(labels != 1))
    assert stats[("churn", "always-one")].rows == sent * 3
    assert stats[("churn", "always-one")].disagreements == expected_disagreements
    pairs = [r for r in shadows.records if r.variant == "always-one"]
    assert {r.request_id for r in pairs} == {f"r{i}" for i in range(sent)}
    assert all(np.all(np.asarray(r.shadow) == 1) for r in pairs)
    metrics = httpx.get(f"{server.url}/metrics").text
    assert f'modelyard_shadow_errors_total{{deployment="churn",variant="broken"}} {sent}.0' in metrics
    assert (
        f'modelyard_shadow_disagreements_total{{deployment="churn",variant="always-one"}} {expected_disagreements}.0'
        in metrics
    )


class _Gate:
    """A model that blocks until a file appears: a shadow as slow as we like, without timing anything.

    (A file, not an Event: the model is pickled on save, and a lock cannot be.)
    """

    def __init__(self, release: str) -> None:
        self.release = release

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        import os
        import time

        deadline = time.monotonic() + 60
        while not os.path.exists(self.release) and time.monotonic() < deadline:
            time.sleep(0.01)
        return np.zeros(len(df), dtype=np.int64)


def test_a_stuck_shadow_drops_copies_and_callers_are_still_answered(
    server_factory: ServerFactory, classifier: Predictor, model_dir: object, frame: pd.DataFrame, tmp_path: Path
) -> None:
    release = tmp_path / "release"
    release.touch()  # open while saving: the save runs the model once on its example
    stuck = model_dir("gate", _Gate(str(release)), frame)  # type: ignore[operator]
    release.unlink()
    server = server_factory(_plan(classifier, ("stuck", stuck)), shadow_queue_size=2)
    with httpx.Client(base_url=server.url) as client:
        answers = [client.post("/v1/deployments/churn/predict", json=rows(frame, 1)) for _ in range(12)]
    assert [a.status_code for a in answers] == [200] * 12
    shadows = server.app.state.shadows  # type: ignore[attr-defined]
    # the stuck worker holds one batch and the queue two copies: the rest were dropped, not waited for
    assert shadows.dropped > 0
    release.touch()
    assert shadows.wait_idle(30)
    assert shadows.stats()[("churn", "stuck")].requests + shadows.dropped == 12


def test_compare_labels_and_regression() -> None:
    assert compare(np.array([1, 0, 1]), np.array([1, 1, 1]), tolerance=0.05)[:2] == (3, 1)
    rows_, disagree, errors = compare(np.array([10.0, 1.0]), np.array([10.2, 2.0]), tolerance=0.05)
    assert (rows_, disagree) == (2, 1)
    assert errors is not None and np.allclose(errors, [0.02, 1.0])
    assert compare(np.array([1, 2]), np.array([1, 2, 3]), tolerance=0.05)[:2] == (2, 2)


def test_runner_counts_drops_without_workers() -> None:
    runner = ShadowRunner(ServingMetrics(), maxsize=1)
    frame = pd.DataFrame({"a": [1.0]})
    shadow = Variant(name="s", model_version="m/1", predictor=None, mode=Mode.SHADOW)  # type: ignore[arg-type]
    assert runner.submit(request_id="1", deployment="d", shadows=(shadow,), frame=frame, primary=np.array([1]))
    assert not runner.submit(request_id="2", deployment="d", shadows=(shadow,), frame=frame, primary=np.array([1]))
    assert runner.dropped == 1


def test_batched_shadow_answers_are_split_back_per_request(regressor: Predictor, frame: pd.DataFrame) -> None:
    runner = ShadowRunner(ServingMetrics(), maxsize=100)
    same = Variant(name="same", model_version="value/1", predictor=regressor, mode=Mode.SHADOW)
    sizes = [1, 4, 2, 7, 3]
    offset = 0
    for index, size in enumerate(sizes):  # queued before the worker starts: they run as one batch
        part = frame.iloc[offset : offset + size]
        offset += size
        runner.submit(
            request_id=f"r{index}", deployment="d", shadows=(same,), frame=part, primary=regressor.predict(part)
        )
    runner.start()
    assert runner.wait_idle(30)
    runner.stop()

    stats = runner.stats()[("d", "same")]
    assert (stats.requests, stats.rows, stats.disagreements) == (len(sizes), sum(sizes), 0)
    assert [r.rows for r in runner.records] == sizes
    assert stats.mean_relative_error is not None and stats.mean_relative_error < 1e-9


def test_a_batch_is_compared_as_each_request_alone_would_be(regressor: Predictor, frame: pd.DataFrame) -> None:
    # The batch compares its stacked answers in one pass; each request's record and the totals must
    # equal comparing that request by itself.
    runner = ShadowRunner(ServingMetrics(), maxsize=100, tolerance=0.05)
    same = Variant(name="same", model_version="value/1", predictor=regressor, mode=Mode.SHADOW)
    sizes = [3, 1, 5, 2, 4]
    primaries = []
    offset = 0
    for index, size in enumerate(sizes):
        part = frame.iloc[offset : offset + size]
        offset += size
        primary = np.asarray(regressor.predict(part), dtype=np.float64).copy()
        if index == 2:
            primary[[0, 3]] *= 1.5  # two rows off by 50 %
        primaries.append(primary)
        runner.submit(request_id=f"r{index}", deployment="d", shadows=(same,), frame=part, primary=primary)
    runner.start()
    assert runner.wait_idle(30)
    runner.stop()

    records = {r.request_id: r for r in runner.records}
    for index, primary in enumerate(primaries):
        record = records[f"r{index}"]
        alone = compare(primary, record.shadow, tolerance=0.05)
        assert (record.rows, record.disagreements) == alone[:2] == (sizes[index], [0, 0, 2, 0, 0][index])
    stats = runner.stats()[("d", "same")]
    assert (stats.requests, stats.rows, stats.disagreements) == (5, 15, 2)


def test_label_answers_are_compared_per_row_within_a_batch() -> None:
    class Labels:
        def predict(self, inputs: pd.DataFrame) -> np.ndarray:
            return (inputs["a"].to_numpy() > 0).astype(np.int64)

    runner = ShadowRunner(ServingMetrics(), maxsize=100)
    shadow = Variant(name="s", model_version="m/1", predictor=Labels(), mode=Mode.SHADOW)  # type: ignore[arg-type]
    inputs = [pd.DataFrame({"a": [1.0, -1.0]}), pd.DataFrame({"a": [2.0]}), pd.DataFrame({"a": [-3.0, 4.0, 5.0]})]
    answers = [np.array([1, 1]), np.array([1]), np.array([0, 0, 1])]  # 1, 0 and 1 rows disagree
    for index, (part, answer) in enumerate(zip(inputs, answers, strict=True)):
        runner.submit(request_id=f"r{index}", deployment="d", shadows=(shadow,), frame=part, primary=answer)
    runner.start()
    assert runner.wait_idle(30)
    runner.stop()
    assert [(r.request_id, r.disagreements) for r in runner.records] == [("r0", 1), ("r1", 0), ("r2", 1)]
    assert all(r.mean_relative_error is None for r in runner.records)

    # a primary of another shape in the batch: that request disagrees on every row, the others as before
    answers[1] = np.array([[1, 1]])
    for index, (part, answer) in enumerate(zip(inputs, answers, strict=True)):
        runner.submit(request_id=f"s{index}", deployment="d", shadows=(shadow,), frame=part, primary=answer)
    runner.start()
    assert runner.wait_idle(30)
    runner.stop()
    assert [(r.request_id, r.disagreements) for r in runner.records][3:] == [("s0", 1), ("s1", 1), ("s2", 1)]
