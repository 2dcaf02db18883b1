"""Group metrics and gaps equal fairlearn's on a fixture with known gaps, and the gate fails on them
naming the group and the figure."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import accuracy_score

from modelyard.domain.explain import FAIRNESS_TAG, FairnessReport
from modelyard.errors import InvalidInput
from modelyard.explain import fairness_report
from modelyard.models import load_model_dir, save_model
from modelyard.pipelines.evaluation import evaluate_model
from modelyard.pipelines.gates import BLESSED_TAG, read_verdict
from modelyard.sdk.client import Client
from tests.explain.explain_flows import fairness_gated, fit_people, make_people


@pytest.fixture(scope="module")
def known() -> pd.DataFrame:
    """Three groups of one attribute (and a second attribute), with gaps set by construction.

    Group ``x`` is selected 60 % of the time, ``y`` 30 %, ``z`` 45 %; TPR and FPR differ too.
    """
    rng = np.random.default_rng(4)
    parts = []
    for group, rows, select_pos, select_neg in (("x", 300, 0.9, 0.3), ("y", 200, 0.5, 0.1), ("z", 100, 0.7, 0.2)):
        truth = (rng.random(rows) < 0.5).astype(int)
        chance = np.where(truth == 1, select_pos, select_neg)
        predicted = (rng.random(rows) < chance).astype(int)
        parts.append(pd.DataFrame({"group": group, "truth": truth, "predicted": predicted}))
    frame = pd.concat(parts, ignore_index=True)
    frame["age_band"] = np.where(rng.random(len(frame)) < 0.3, "over-60", "under-60")
    return frame


@pytest.mark.parametrize("attribute", ["group", "age_band"])
def test_group_metrics_and_gaps_equal_fairlearns(known: pd.DataFrame, attribute: str) -> None:
    report = fairness_report(known["truth"], known["predicted"], known[["group", "age_band"]])
    frame = MetricFrame(
        metrics={
            "selection_rate": selection_rate,
            "tpr": true_positive_rate,
            "fpr": false_positive_rate,
            "accuracy": accuracy_score,
        },
        y_true=known["truth"],
        y_pred=known["predicted"],
        sensitive_features=known[attribute],
    )
    ours = {g.group: g for g in report.groups if g.attribute == attribute}
    assert set(ours) == set(frame.by_group.index)
    for group, row in frame.by_group.iterrows():
        assert ours[group].selection_rate == pytest.approx(row["selection_rate"], abs=1e-12)
        assert ours[group].tpr == pytest.approx(row["tpr"], abs=1e-12)
        assert ours[group].fpr == pytest.approx(row["fpr"], abs=1e-12)
        assert ours[group].accuracy == pytest.approx(row["accuracy"], abs=1e-12)
        assert ours[group].rows == int((known[attribute] == group).sum())
    gaps = report.gaps_for(attribute)
    kwargs = {"y_true": known["truth"], "y_pred": known["predicted"], "sensitive_features": known[attribute]}
    assert gaps.demographic_parity_difference == pytest.approx(demographic_parity_difference(**kwargs), abs=1e-12)
    assert gaps.demographic_parity_ratio == pytest.approx(demographic_parity_ratio(**kwargs), abs=1e-12)
    assert gaps.equalized_odds_difference == pytest.approx(equalized_odds_difference(**kwargs), abs=1e-12)


def test_the_known_gaps_are_found_and_the_group_behind_is_named(known: pd.DataFrame) -> None:
    report = fairness_report(known["truth"], known["predicted"], known[["group"]])
    gaps = report.gaps_for("group")
    assert gaps.demographic_parity_difference > 0.2  # x ~0.6 vs y ~0.3 by construction
    assert gaps.worst == {"selection_rate": "y", "tpr": "y", "fpr": "x"}
    assert FairnessReport.from_dict(json.loads(json.dumps(report.to_dict()))) == report


def test_bad_fairness_input_is_refused(known: pd.DataFrame) -> None:
    with pytest.raises(InvalidInput, match="binary"):
        fairness_report([0, 1, 2], [0, 1, 2], {"g": ["a", "b", "a"]})
    with pytest.raises(InvalidInput, match="one value per row"):
        fairness_report([0, 1], [0, 1], {"g": ["a"]})
    with pytest.raises(InvalidInput, match="positive label"):
        fairness_report([0, 1], [0, 1], {"g": ["a", "b"]}, positive_label="yes")


def test_the_gate_fails_on_a_fairness_gap_naming_the_group_and_the_figure(client: Client) -> None:
    result = fairness_gated.run({"max_gap": 0.1}, client=client).check()
    assert result.output("gate")["blessed"] is False
    verdict = read_verdict(client, "models:/credit/1")
    failed = [c for c in verdict.checks if not c.passed]
    [parity] = [c for c in failed if c.metric == "demographic_parity_difference"]
    assert parity.name == "fairness group" and parity.candidate is not None and parity.candidate > 0.1
    assert "group group=b has selection_rate" in parity.detail
    assert all(c.passed for c in verdict.checks if c.metric == "equalized_odds_difference")
    version = client.registry.get_model_version("credit", 1)
    assert version.tags[BLESSED_TAG] == "false"
    stored = FairnessReport.from_dict(json.loads(version.tags[FAIRNESS_TAG]))
    assert stored.gaps_for("group").demographic_parity_difference == pytest.approx(parity.candidate)
    assert {g.group for g in stored.groups} == {"a", "b"} and stored.model == "models:/credit/1"
    assert stored.location.endswith("/gate/fairness.json") and stored.data.startswith("datasets:/")

    lenient = fairness_gated.run({"max_gap": 0.9}, client=client).check()
    assert lenient.output("gate")["blessed"] is True


def test_evaluate_adds_fairness_for_sensitive_columns_the_model_does_not_take(tmp_path: Path) -> None:
    holdout = make_people.fn(300, 3)
    model = fit_people.fn(make_people.fn(300, 4))
    save_model(model, tmp_path / "people", input_example=holdout[["x1", "x2"]].head(5))
    predictor = load_model_dir(tmp_path / "people")
    result = evaluate_model(predictor, holdout, target="y", sensitive=("group",))
    report = FairnessReport.from_dict(result["fairness"])
    expected = fairness_report(holdout["y"], model.predict(holdout[["x1", "x2"]]), holdout[["group"]])
    assert report == expected
    assert result["accuracy"] == pytest.approx(float((model.predict(holdout[["x1", "x2"]]) == holdout["y"]).mean()))
    with pytest.raises(InvalidInput, match="'sex'"):
        evaluate_model(predictor, holdout, target="y", sensitive=("sex",))
