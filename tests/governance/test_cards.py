"""Model card and Annex IV report of a model trained here: every auto-filled field has content."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelyard.domain.governance import ApprovalPolicy, FieldSource
from modelyard.errors import Conflict, InvalidInput
from modelyard.governance._render import to_html, to_markdown
from tests.governance.conftest import ADMIN, World


def _champion(world: World) -> None:
    version = world.train()
    world.backend.model_versions.record_gate_verdict("churn", version.version, blessed=True, verdict_uri="runs:/x/v")
    world.as_user(ADMIN).approvals.set_policy(ApprovalPolicy(model_name="churn"))
    with pytest.raises(Conflict) as pending:
        world.as_user(ADMIN).stages.transition("churn", 1, "Production", reason="first model")
    world.user("carol", "approver").approvals.approve(pending.value.details["approval_request"], "ok")


def test_card_is_filled_from_records(world: World) -> None:
    _champion(world)
    card = world.as_user(ADMIN).cards.card("churn", 1)
    auto = [f for f in card.fields() if f.source is FieldSource.RECORDS]
    assert auto and [f.key for f in auto if not f.value.strip()] == []
    by_key = {f.key: f.value for f in card.fields()}
    (dataset,) = world.backend.datasets.list_versions("churn-train")
    assert dataset.digest in by_key["training_data"] and "6 rows" in by_key["training_data"]
    assert "churn-test" in by_key["evaluation_data"]
    assert "accuracy = " in by_key["metrics"] and "C = 1.0" in by_key["hyperparameters"]
    assert "blessed = true" in by_key["gate"]
    assert "approved by carol" in by_key["approvals"] and "applied" in by_key["approvals"]
    assert by_key["stage"] == "Production"
    assert by_key["intended_use"] == ""  # a person's field, not filled yet
    markdown, html = to_markdown(card), to_html(card)
    assert "## Training details" in markdown and dataset.digest in markdown
    assert html.startswith("<!DOCTYPE html>") and "<script" not in html and "http" not in html.split("<body>")[0]


def test_people_fields_are_kept_and_validated(world: World) -> None:
    world.train()
    cards = world.as_user(ADMIN).cards
    cards.set_fields("churn", 1, {"intended_use": "retention offers"})
    assert {f.key: f.value for f in cards.card("churn", 1).fields()}["intended_use"] == "retention offers"
    with pytest.raises(InvalidInput, match="unknown model card field"):
        cards.set_fields("churn", 1, {"purpose": "x"})


def test_compliance_report_written_as_json_and_html(world: World, tmp_path: Path) -> None:
    _champion(world)
    json_path, html_path = world.as_user(ADMIN).compliance.write("churn", 1, tmp_path / "report")
    report = json.loads(json_path.read_text())
    fields = [f for s in report["sections"] for f in s["fields"]]
    auto = [f for f in fields if f["source"] == "filled-from-records"]
    assert len(auto) >= 15 and [f["key"] for f in auto if not f["value"].strip()] == []
    assert {f["source"] for f in fields} == {"filled-from-records", "left-for-a-person"}
    by_key = {f["key"]: f["value"] for f in fields}
    assert "verified intact" in by_key["12_logs"]
    assert "approved by carol" in by_key["2g_signed"]
    assert "churn/1: Production" in by_key["1a_version"]
    assert "Annex IV" in html_path.read_text()
