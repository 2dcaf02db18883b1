"""Per-prediction explanations over HTTP: attributions equal shap's and add up to the model's output,
bad input is refused exactly as predict refuses it, and the explainer is built once per loaded model."""

from __future__ import annotations

import json
import math
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
import shap
from sklearn.ensemble import RandomForestClassifier

from modelyard.models import Predictor
from modelyard.serving import DeploymentPlan, ServingPlan
from tests.serving.conftest import COLUMNS, ServerFactory, primary, rows

LIMIT = 4_096


@pytest.fixture(scope="module")
def forest(frame: pd.DataFrame) -> RandomForestClassifier:
    labels = (frame["x1"] + frame["x2"] * frame["n"] > 0).astype(int)
    return RandomForestClassifier(n_estimators=20, max_depth=5, random_state=0).fit(frame, labels)


@pytest.fixture
def forest_plan(forest: RandomForestClassifier, frame: pd.DataFrame, model_dir: Any) -> ServingPlan:
    predictor: Predictor = model_dir("forest", forest, frame)
    return ServingPlan([DeploymentPlan(name="churn", variants=(primary(predictor),))])


def test_explain_returns_shaps_attributions_base_value_and_prediction_per_row(
    server_factory: ServerFactory, forest_plan: ServingPlan, forest: RandomForestClassifier, frame: pd.DataFrame
) -> None:
    server = server_factory(forest_plan)
    body = rows(frame, 4)
    response = httpx.post(f"{server.url}/v1/deployments/churn/explain", json=body, timeout=300)

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["method"] == "tree" and answer["exact"] is True
    assert answer["output_space"] == "probability of class 1"
    assert answer["model_version"] == "churn/1" and response.headers["x-modelyard-variant"] == "blue"
    explainer = shap.TreeExplainer(forest)
    expected = explainer.shap_values(frame.head(4))[:, :, 1]
    proba = forest.predict_proba(frame.head(4))[:, 1]
    for i, row in enumerate(answer["explanations"]):
        assert list(row["attributions"]) == COLUMNS
        np.testing.assert_allclose([row["attributions"][c] for c in COLUMNS], expected[i], atol=1e-6)
        assert row["base_value"] == pytest.approx(explainer.expected_value[1], abs=1e-6)
        assert row["base_value"] + sum(row["attributions"].values()) == pytest.approx(proba[i], abs=1e-9)
        assert row["output"] == pytest.approx(proba[i], abs=1e-9)
        assert row["prediction"] == int(forest.predict(frame.iloc[[i]])[0])


def test_kserve_v1_explain_takes_instances_as_objects_or_ordered_lists(
    server_factory: ServerFactory, forest_plan: ServingPlan, frame: pd.DataFrame
) -> None:
    server = server_factory(forest_plan)
    as_objects = httpx.post(f"{server.url}/v1/models/churn:explain", json={"instances": rows(frame, 2)}, timeout=300)
    as_lists = httpx.post(
        f"{server.url}/v1/models/churn:explain", json={"instances": frame.head(2).values.tolist()}, timeout=300
    )
    assert as_objects.status_code == 200, as_objects.text
    assert as_lists.status_code == 200, as_lists.text
    assert as_objects.json()["explanations"] == as_lists.json()["explanations"]
    assert len(as_objects.json()["explanations"]) == 2


def test_the_explainer_is_built_once_per_loaded_model(
    server_factory: ServerFactory, forest_plan: ServingPlan, frame: pd.DataFrame
) -> None:
    server = server_factory(forest_plan)
    for _ in range(3):
        assert httpx.post(f"{server.url}/v1/deployments/churn/explain", json=rows(frame, 1), timeout=300).is_success
    cache = server.app.state.explainers  # type: ignore[attr-defined]
    assert len(cache._built) == 1


def _bad_inputs(frame: pd.DataFrame) -> list[tuple[str, dict[str, Any]]]:
    good = rows(frame, 1)[0]
    nan_row = json.dumps([{**good, "x1": "NaN_"}]).replace('"NaN_"', "NaN").encode()
    return [
        ("malformed-json", {"content": b'[{"x1": 1,'}),
        ("empty-body", {"content": b""}),
        ("not-objects", {"json": [1, 2, 3]}),
        ("empty-records", {"json": []}),
        ("fields-differ", {"json": [good, {"x1": 1.0}]}),
        ("nested-value", {"json": [{**good, "x2": [1, 2]}]}),
        ("missing-column", {"json": [{"x1": 1.0, "x2": 2.0}]}),
        ("wrong-type", {"json": [{**good, "x2": "high"}]}),
        ("extra-column", {"json": [{**good, "zzz": 1}]}),
        ("nan-not-allowed", {"content": nan_row}),
        ("too-large", {"content": b"[" + b" " * (LIMIT + 10) + b"]"}),
    ]


def test_explain_refuses_bad_input_with_predicts_status_and_error_shape(
    server_factory: ServerFactory, forest_plan: ServingPlan, frame: pd.DataFrame
) -> None:
    server = server_factory(forest_plan, max_body_bytes=LIMIT)
    mismatches: list[str] = []
    with httpx.Client(base_url=server.url, timeout=300) as client:
        for case, kwargs in _bad_inputs(frame):
            predicted = client.post("/v1/deployments/churn/predict", **kwargs)  # type: ignore[arg-type]
            explained = client.post("/v1/deployments/churn/explain", **kwargs)  # type: ignore[arg-type]
            assert 400 <= predicted.status_code < 500, case
            if (explained.status_code, explained.json()) != (predicted.status_code, predicted.json()):
                mismatches.append(f"{case}: predict {predicted.text[:160]} / explain {explained.text[:160]}")
        unknown = client.post("/v1/deployments/nope/explain", json=rows(frame, 1))
        assert unknown.status_code == 404 and "nope" in unknown.json()["message"]
        kserve = client.post("/v1/models/churn:explain", json={"instances": [{"x1": 1.0}]})
        assert kserve.status_code == 422 and "'x2'" in kserve.json()["error"]
        assert client.post("/v1/models/churn:explain", json={"rows": []}).status_code == 400
        assert client.post("/v1/deployments/churn/explain", json=rows(frame, 1)).status_code == 200
    assert not mismatches, "\n".join(mismatches)


def test_a_sampled_explainer_uses_the_models_input_example_and_says_so(
    server_factory: ServerFactory, frame: pd.DataFrame, constant_one: Predictor
) -> None:
    server = server_factory(ServingPlan([DeploymentPlan(name="d", variants=(primary(constant_one),))]))
    response = httpx.post(f"{server.url}/v1/deployments/d/explain", json=rows(frame, 2), timeout=300)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["method"] == "permutation" and answer["exact"] is False
    for row in answer["explanations"]:  # a constant model: nothing is attributed
        assert row["output"] == 1.0 and all(math.isclose(v, 0.0, abs_tol=1e-12) for v in row["attributions"].values())
