"""Swapping the plan on a running server under concurrent load: no failed request, new plan in force."""

from __future__ import annotations

import threading

import httpx
import pandas as pd
import pytest

from modelyard.models import Predictor
from modelyard.serving import DeploymentPlan, Mode, PlanHolder, ServingPlan, Variant
from tests.serving.conftest import ServerFactory, primary, rows


def _plan(blue: Predictor, green: Predictor, green_weight: float | None) -> ServingPlan:
    if green_weight is None:
        variants: tuple[Variant, ...] = (primary(green, name="green", version="churn/2"),)
    else:
        variants = (
            primary(blue),
            Variant(name="green", model_version="churn/2", predictor=green, mode=Mode.CANARY, weight=green_weight),
        )
    return ServingPlan([DeploymentPlan(name="churn", variants=variants)])


@pytest.mark.slow
def test_swaps_under_load_fail_no_request(
    server_factory: ServerFactory, classifier: Predictor, classifier_b: Predictor, frame: pd.DataFrame
) -> None:
    holder = PlanHolder(_plan(classifier, classifier_b, 0))
    server = server_factory(holder)
    stop = threading.Event()
    statuses: list[int] = []
    variants: list[str] = []
    lock = threading.Lock()

    def load() -> None:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            while not stop.is_set():
                answer = client.post("/v1/deployments/churn/predict", json=rows(frame, 2))
                with lock:
                    statuses.append(answer.status_code)
                    variants.append(answer.headers.get("x-modelyard-variant", ""))

    threads = [threading.Thread(target=load) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        for weight in (10, 50, 90, None, 30, None):
            before = len(statuses)
            holder.swap(_plan(classifier, classifier_b, weight))
            while len(statuses) < before + 40:  # let each plan serve some traffic
                threading.Event().wait(0.01)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)

    assert holder.generation == 6
    assert len(statuses) >= 240
    assert set(statuses) == {200}
    assert {"blue", "green"} <= set(variants)
    after = httpx.post(f"{server.url}/v1/deployments/churn/predict", json=rows(frame, 1))
    assert after.headers["x-modelyard-variant"] == "green"  # the last plan: green alone


def test_swap_refuses_what_is_not_a_plan(classifier: Predictor, classifier_b: Predictor) -> None:
    holder = PlanHolder(_plan(classifier, classifier_b, 0))
    old = holder.current
    with pytest.raises(Exception, match="ServingPlan"):
        holder.swap({"churn": None})  # type: ignore[arg-type]
    assert holder.current is old
    assert holder.swap(_plan(classifier, classifier_b, None)) is old
