"""Data validation with drift against a reference dataset version: the shifted columns, and only
those, fail the step (with figures) and stop the pipeline before training; small samples do not
flood the report; the expectations round-trip through JSON; a bad reference reads clearly."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from modelyard.domain.data import DatasetRole
from modelyard.domain.pipelines import PipelineStatus, StepStatus
from modelyard.errors import InvalidInput, NotFound
from modelyard.monitoring.drift import DriftThresholds, Reference
from modelyard.pipelines.validation import (
    ColumnExpectation,
    DataExpectations,
    DriftExpectation,
    drift_reference,
    expectations_from_json,
    expectations_to_dict,
    validate_frame,
)
from modelyard.sdk.client import Client
from tests.pipelines.drift_flows import drift_checked, expectations, sample

URI = "datasets:/churn@3fa2"


@pytest.fixture(scope="module")
def reference() -> Reference:
    """The reference as the step builds it: from a stored profile, not from the frame."""
    return Reference.from_profile(Reference.from_frame(sample(2000, 0)).to_profile())


def _report(client: Client, run_id: str) -> dict:
    return json.loads(client.backend.artifacts.read_bytes(run_id, "validation/report.json"))


def test_a_shift_fails_the_shifted_columns_only_and_stops_before_training(client: Client) -> None:
    ref = client.backend.datasets.log(sample(2000, 0), "churn-ref", role=DatasetRole.REFERENCE)

    same = drift_checked.run({"reference": ref.uri}, client=client).check()
    assert same.step("fit_sample").status is StepStatus.COMPLETED
    run_id = same.step("validate_data").run_id or ""
    report = _report(client, run_id)
    assert report["passed"] is True and report["drift"]["share_drifted"] == 0.0
    assert {f["feature"]: f["status"] for f in report["drift"]["features"]} == {
        "x1": "no_drift",
        "x2": "no_drift",
        "seg": "no_drift",
    }
    assert [m.value for m in client.get_metric_history(run_id, "share_drifted")] == [0.0]
    assert ref.uri in {i.uri for i in client.backend.datasets.inputs_of_run(run_id) if i.role is DatasetRole.REFERENCE}

    shifted = drift_checked.run({"reference": ref.uri, "shift": 0.6, "share_a": 0.75}, client=client)
    assert shifted.run.status is PipelineStatus.FAILED
    assert shifted.step("validate_data").status is StepStatus.FAILED
    assert shifted.step("fit_sample").status is StepStatus.SKIPPED
    error = shifted.step("validate_data").error or ""
    assert "column 'x1': drift ks p=" in error and "column 'seg': drift chi2 p=" in error
    report = _report(client, shifted.step("validate_data").run_id or "")
    assert report["passed"] is False
    per_column = [f for f in report["failed"] if f["column"] is not None]
    assert sorted(f["column"] for f in per_column) == ["seg", "x1"]
    assert all(f["check"].startswith("drift ") for f in per_column)
    table = [f for f in report["failed"] if f["column"] is None]
    assert len(table) == 1 and table[0]["check"].startswith("drift share of drifted columns 0.67 > 0.3")
    figures = {f["feature"]: f for f in report["drift"]["features"]}
    assert figures["x1"]["drifted"] and figures["x1"]["details"]["ks_statistic"] > 0.15
    assert figures["seg"]["drifted"] and figures["seg"]["details"]["tvd"] > 0.15
    assert not figures["x2"]["drifted"]
    assert sorted(report["drift"]["drifted_features"]) == ["seg", "x1"]


def test_an_unknown_reference_fails_the_step_with_a_readable_message(client: Client) -> None:
    with pytest.raises(NotFound, match="no dataset"):
        drift_reference(client, "datasets:/nothing-here@abcd")
    client.backend.datasets.log(sample(50, 0), "churn-ref")
    with pytest.raises(NotFound, match="no version with a digest starting 0000"):
        drift_reference(client, "datasets:/churn-ref@0000")
    result = drift_checked.run({"reference": "datasets:/churn-ref@0000"}, client=client)
    assert result.run.status is PipelineStatus.FAILED
    assert "no version with a digest starting 0000" in (result.step("validate_data").error or "")
    assert result.step("fit_sample").status is StepStatus.SKIPPED


def test_a_frame_from_the_reference_distribution_passes(reference: Reference) -> None:
    report = validate_frame(sample(1000, 1), expectations(URI), reference=reference)
    assert report.passed, report.describe()
    assert report.drift is not None and report.drift["drifted_features"] == []


def test_a_method_and_threshold_override_change_the_verdict(reference: Reference) -> None:
    base = expectations(URI)
    assert base.drift is not None
    moved = sample(1000, 1, shift=0.25)
    strict = replace(
        base,
        drift=replace(
            base.drift, numeric_method="psi", thresholds=DriftThresholds(psi_moderate=0.02, psi_significant=0.04)
        ),
    )
    lenient = replace(base, drift=replace(base.drift, numeric_method="psi", thresholds=DriftThresholds()))
    strict_report = validate_frame(moved, strict, reference=reference)
    assert [f.column for f in strict_report.failed if f.column] == ["x1"]
    assert strict_report.failed[0].check.startswith("drift psi=") and "> 0.04" in strict_report.failed[0].check
    assert validate_frame(moved, lenient, reference=reference).passed


def test_small_samples_do_not_flood_the_report(reference: Reference) -> None:
    thirty = validate_frame(sample(30, 3), expectations(URI), reference=reference)
    assert thirty.passed, thirty.describe()
    ten = validate_frame(sample(10, 4, shift=3.0, share_a=1.0), expectations(URI), reference=reference)
    assert ten.passed, ten.describe()
    assert ten.drift is not None
    assert {f["status"] for f in ten.drift["features"] + ten.drift["missing"]} == {"insufficient_data"}


def test_wrong_kind_and_absent_columns_are_failures_not_crashes(reference: Reference) -> None:
    frame = sample(500, 5).drop(columns=["x2"]).assign(x1=lambda f: f["x1"].astype(str))
    exp = DataExpectations(columns=(), drift=DriftExpectation(reference=URI, columns=("x1", "x2", "seg")))
    report = validate_frame(frame, exp, reference=reference)
    checks = {f.column: f.check for f in report.failed}
    assert set(checks) == {"x1", "x2"}
    assert checks["x1"] == f"drift: numeric in the reference, {frame['x1'].dtype} here"
    assert checks["x2"] == "drift: column absent from the frame"
    with pytest.raises(InvalidInput, match="no column 'z'"):
        validate_frame(frame, replace(exp, drift=DriftExpectation(reference=URI, columns=("z",))), reference=reference)


def test_expectations_with_drift_round_trip_through_json() -> None:
    exp = DataExpectations(
        columns=(ColumnExpectation(name="seg", dtype="str", allowed=("a", "b"), max_missing=0.1),),
        min_rows=30,
        drift=DriftExpectation(
            reference=URI,
            columns=("x1", "seg"),
            max_share_drifted=0.5,
            fail_on=("drift", "moderate"),
            thresholds=DriftThresholds(psi_significant=0.2, correction="bh"),
            numeric_method="psi",
        ),
    )
    text = json.dumps(expectations_to_dict(exp))
    assert json.loads(text)["drift"]["thresholds"] == {"psi_significant": 0.2, "correction": "bh"}
    back = expectations_from_json(text)
    assert back == exp and hash(back) == hash(exp)
    minimal = expectations_from_json(json.dumps({"columns": [], "drift": {"reference": URI}}))
    assert minimal.drift == DriftExpectation(reference=URI)
    with pytest.raises(InvalidInput, match="drift threshold 'psi_big' is not one of"):
        expectations_from_json(json.dumps({"columns": [], "drift": {"reference": URI, "thresholds": {"psi_big": 1}}}))


def test_bad_drift_declarations_are_refused_with_the_fix() -> None:
    with pytest.raises(InvalidInput, match=r"must name a fixed version.*list_versions\('churn'\)"):
        DriftExpectation(reference="datasets:/churn@latest")
    with pytest.raises(InvalidInput, match="not a dataset URI"):
        DriftExpectation(reference="churn.parquet")
    with pytest.raises(InvalidInput, match="numeric_method 'chi2' is not one of: ks, psi, wasserstein"):
        DriftExpectation(reference=URI, numeric_method="chi2")
    with pytest.raises(InvalidInput, match="fail_on 'drifted' is not one of: drift, moderate"):
        DriftExpectation(reference=URI, fail_on=("drifted",))
    with pytest.raises(InvalidInput, match="pass its reference"):
        validate_frame(sample(50, 0), expectations(URI))
