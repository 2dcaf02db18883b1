"""Traffic splits: canary within binomial bounds, sticky assignment stable across restarts, A/B, rules."""

from __future__ import annotations

import collections
import math

import httpx
import pandas as pd
import pytest

from modelyard.errors import InvalidInput, NotFound
from modelyard.models import Predictor
from modelyard.serving import DeploymentPlan, Mode, ServingPlan, StickyKey, Variant, sticky_bucket
from modelyard.serving.routing import build_route_table
from tests.serving.conftest import ServerFactory, primary, rows


def _canary_plan(blue: Predictor, green: Predictor, weight: float, sticky: StickyKey | None = None) -> ServingPlan:
    return ServingPlan(
        [
            DeploymentPlan(
                name="churn",
                variants=(
                    primary(blue),
                    Variant(name="green", model_version="churn/2", predictor=green, mode=Mode.CANARY, weight=weight),
                ),
                sticky=sticky,
            )
        ]
    )


@pytest.mark.slow
def test_canary_split_is_within_binomial_bounds(
    server_factory: ServerFactory, classifier: Predictor, classifier_b: Predictor, frame: pd.DataFrame
) -> None:
    server = server_factory(_canary_plan(classifier, classifier_b, 10))
    n, p = 2_000, 0.10
    counts: collections.Counter[str] = collections.Counter()
    with httpx.Client(base_url=server.url) as client:
        for _ in range(n):
            response = client.post("/v1/deployments/churn/predict", json=rows(frame, 1))
            assert response.status_code == 200
            counts[response.headers["x-modelyard-variant"]] += 1

    bound = 4.5 * math.sqrt(n * p * (1 - p))  # 4.5 sigma: a false failure about once in 150,000 runs
    assert counts["blue"] + counts["green"] == n
    assert abs(counts["green"] - n * p) < bound


def test_sticky_header_keeps_a_caller_on_one_variant_across_a_restart(
    server_factory: ServerFactory, classifier: Predictor, classifier_b: Predictor, frame: pd.DataFrame
) -> None:
    customers = [f"customer-{i}" for i in range(60)]

    def assignments() -> dict[str, str]:
        server = server_factory(_canary_plan(classifier, classifier_b, 50, StickyKey(source="header", name="x-user")))
        seen: dict[str, str] = {}
        with httpx.Client(base_url=server.url) as client:
            for customer in customers:
                for _ in range(3):
                    variant = client.post(
                        "/v1/deployments/churn/predict", json=rows(frame, 1), headers={"x-user": customer}
                    ).headers["x-modelyard-variant"]
                    assert seen.setdefault(customer, variant) == variant
        server.stop()
        return seen

    first = assignments()
    second = assignments()

    assert first == second
    assert set(first.values()) == {"blue", "green"}  # 60 keys at 50 %: both arms are used
    expected = {c: "blue" if sticky_bucket(c, salt="churn") < 5_000 else "green" for c in customers}
    assert first == expected


def test_sticky_field_routes_by_the_field_and_is_not_fed_to_the_model(
    server_factory: ServerFactory, classifier: Predictor, classifier_b: Predictor, frame: pd.DataFrame
) -> None:
    server = server_factory(_canary_plan(classifier, classifier_b, 50, StickyKey(source="field", name="customer")))
    with httpx.Client(base_url=server.url) as client:
        for customer in ("a", "b", "c", "d", "e", "f"):
            body = [{**row, "customer": customer} for row in rows(frame, 2)]
            answer = client.post("/v1/deployments/churn/predict", json=body)
            assert answer.status_code == 200, answer.text
            expected = "blue" if sticky_bucket(customer, salt="churn") < 5_000 else "green"
            assert answer.headers["x-modelyard-variant"] == expected


def test_ab_split_uses_relative_weights_and_tables_cover_every_bucket() -> None:
    table = build_route_table([("a", "ab", 1), ("b", "ab", 3)])
    assert table.shares() == {"a": 25.0, "b": 75.0}
    assert [table.pick(b) for b in (0, 2_499, 2_500, 9_999)] == ["a", "a", "b", "b"]
    full = build_route_table([("p", "primary", 0), ("c", "canary", 100)])
    assert {full.pick(b) for b in range(0, 10_000, 97)} == {"c"}


@pytest.mark.parametrize(
    ("variants", "message"),
    [
        ([("p", "primary", 0), ("q", "primary", 0)], "exactly one primary"),
        ([("p", "primary", 0), ("c", "canary", 60), ("d", "canary", 50)], "more than 100"),
        ([("a", "ab", 1)], "at least two"),
        ([("a", "ab", 1), ("p", "primary", 0)], "cannot be mixed"),
        ([("a", "ab", 0), ("b", "ab", 1)], "positive weight"),
        ([], "at least one"),
    ],
)
def test_bad_traffic_rules_are_refused(variants: list[tuple[str, str, float]], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        build_route_table(variants)


def test_plan_rules(classifier: Predictor) -> None:
    with pytest.raises(InvalidInput, match="repeat"):
        DeploymentPlan(name="d", variants=(primary(classifier), primary(classifier)))
    with pytest.raises(InvalidInput, match="shadows alone"):
        DeploymentPlan(
            name="d", variants=(Variant(name="s", model_version="m/1", predictor=classifier, mode=Mode.SHADOW),)
        )
    with pytest.raises(InvalidInput, match="weight"):
        Variant(name="c", model_version="m/1", predictor=classifier, mode=Mode.CANARY, weight=120)
    plan = ServingPlan([DeploymentPlan(name="d", variants=(primary(classifier),))])
    with pytest.raises(NotFound, match="'x'"):
        plan.get("x")
    with pytest.raises(InvalidInput, match="twice"):
        ServingPlan([plan.get("d"), plan.get("d")])


def test_sticky_bucket_is_a_pure_function() -> None:
    assert sticky_bucket("alice", salt="churn") == sticky_bucket("alice", salt="churn")
    buckets = {sticky_bucket(f"user-{i}", salt="churn") for i in range(500)}
    assert len(buckets) > 450  # spread, not clumped
    assert all(0 <= b < 10_000 for b in buckets)
