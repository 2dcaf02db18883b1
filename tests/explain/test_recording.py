"""A global explanation is recorded with the model version: artifacts in a run, a tag the model card
reads, and an HTML summary; the pipeline step does the same for a version a pipeline registered."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shap
from sklearn.ensemble import RandomForestClassifier

import modelyard
from modelyard.domain.explain import ExplainerKind, ExplanationSummary
from modelyard.errors import InvalidInput
from modelyard.sdk.client import Client
from modelyard.sdk.explain import read_explanation, record_explanation
from modelyard.uris import parse_run_uri
from tests.explain.explain_flows import trained_and_explained


def _register(client: Client, frame: pd.DataFrame, labels: np.ndarray) -> RandomForestClassifier:
    model = RandomForestClassifier(n_estimators=15, max_depth=5, random_state=0).fit(frame, labels)
    run = client.create_run(run_name="train")
    client.registry.log_model(
        run.info.run_id, model, "model", input_example=frame.head(5), registered_model_name="churn"
    )
    client.set_terminated(run.info.run_id)
    return model


def test_explain_records_importances_attributions_and_a_report_with_the_version(
    client: Client, frame: pd.DataFrame, labels: np.ndarray, tmp_path: Path
) -> None:
    model = _register(client, frame, labels)
    data = frame.assign(y=labels)  # the label is not a model input: left out
    dataset = client.backend.datasets.log(data, "churn-eval", user="tester")
    out = tmp_path / "report.html"

    result = record_explanation(client, "models:/churn/1", dataset.uri, out=out, feature="b")

    summary = result.summary
    assert summary.method is ExplainerKind.TREE and summary.exact
    assert summary.rows == len(frame) and summary.data == dataset.uri and summary.model == "models:/churn/1"
    expected = np.abs(shap.TreeExplainer(model).shap_values(frame)[:, :, 1]).mean(axis=0)
    assert dict(summary.importance) == pytest.approx(dict(zip(frame.columns, expected, strict=True)), abs=1e-9)
    assert [name for name, _ in summary.importance] == sorted(frame.columns, key=lambda c: -dict(summary.importance)[c])

    stored = read_explanation(client, "models:/churn/1")
    assert stored is not None and dict(stored.importance) == pytest.approx(dict(summary.importance))
    assert stored.location == summary.location
    location = parse_run_uri(summary.location)
    artifacts = client.backend.artifacts
    full = ExplanationSummary.from_dict(json.loads(artifacts.read_bytes(location.run_id, "explain/summary.json")))
    assert full.importance == summary.importance
    sample = pd.read_parquet(io.BytesIO(artifacts.read_bytes(location.run_id, "explain/attributions.parquet")))
    assert len(sample) == 400 and {"input.a", "shap.a", "base_value"} <= set(sample.columns)
    shap_cols = [f"shap.{c}" for c in frame.columns]
    inputs = sample[[f"input.{c}" for c in frame.columns]].set_axis(list(frame.columns), axis=1)
    np.testing.assert_allclose(
        sample[shap_cols].sum(axis=1) + sample["base_value"], model.predict_proba(inputs)[:, 1], atol=1e-9
    )
    page = out.read_text(encoding="utf-8")
    assert "Dependence: b" in page and "plotly" in page and "<script src=" not in page
    assert page == artifacts.read_bytes(location.run_id, "explain/summary.html").decode("utf-8")
    run = client.get_run(location.run_id)
    assert run.info.status.value == "FINISHED" and run.data.tags["modelyard.explain.model"] == "models:/churn/1"


def test_explain_refuses_an_unknown_feature_before_storing_anything(
    client: Client, frame: pd.DataFrame, labels: np.ndarray
) -> None:
    _register(client, frame, labels)
    with pytest.raises(InvalidInput, match="no feature 'zzz'"):
        record_explanation(client, "models:/churn/1", frame, feature="zzz")
    assert read_explanation(client, "models:/churn/1") is None
    with pytest.raises(InvalidInput, match="no column"):
        record_explanation(client, "models:/churn/1", frame.drop(columns=["c"]))


def test_the_fluent_explain_is_exported() -> None:
    assert "explain" in modelyard.__all__
    assert modelyard.explain.__module__ == "modelyard.sdk.explain"


def test_the_pipeline_step_explains_the_registered_candidate(client: Client) -> None:
    result = trained_and_explained.run({}, client=client).check()
    output = result.output("explain_model")
    assert output["model"] == "models:/risk/1" and output["exact"] is True and output["top_feature"] == "x1"
    stored = read_explanation(client, "models:/risk/1")
    assert stored is not None and stored.importance[0][0] == "x1"
    assert stored.location == f"runs:/{result.step('explain_model').run_id}/explain"
