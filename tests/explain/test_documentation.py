"""The model card and the Annex IV report fill their explainability and bias sections from the records
an explanation and a fairness-bounded gate left on the version, marked filled-from-records."""

from __future__ import annotations

import json
from pathlib import Path

from modelyard.domain.governance import FieldSource
from modelyard.governance import ComplianceService, ModelCardService
from modelyard.governance._render import to_html
from modelyard.sdk.client import Client
from modelyard.sdk.explain import record_explanation
from tests.explain.explain_flows import fairness_gated, make_people


def test_card_and_annex_iv_show_the_explanation_and_the_fairness_table(client: Client, tmp_path: Path) -> None:
    fairness_gated.run({"max_gap": 0.1}, client=client).check()
    data = make_people.fn(300, 2)
    dataset = client.backend.datasets.log(data, "credit-eval", user="tester")
    record_explanation(client, "models:/credit/1", dataset.uri)

    card = ModelCardService(client.backend.db, actor="tester").card("credit", 1)
    [section] = [s for s in card.sections if s.key == "explainability"]
    fields = {f.key: f for f in section.fields}
    assert all(f.source is FieldSource.RECORDS for f in section.fields)
    importance = fields["explainability"].value
    assert "linear explainer, exact" in importance and "x1" in importance and "█" in importance
    assert "/explain/summary.html" in importance
    assert dataset.uri in fields["explanation_data"].value and "300 rows" in fields["explanation_data"].value
    bias = fields["fairness"].value
    assert "group: demographic parity difference" in bias and "lowest selection rate: b" in bias
    assert "selection" in bias and "\n  a " in bias and "\n  b " in bias
    assert "datasets:/" in bias  # the holdout it was computed on
    assert "filled-from-records" in to_html(card)

    json_path, html_path = ComplianceService(client.backend.db, actor="tester").write("credit", 1, tmp_path / "annex")
    report = json.loads(json_path.read_text(encoding="utf-8"))
    items = {f["key"]: f for s in report["sections"] for f in s["fields"]}
    assert items["2g_bias"]["source"] == "filled-from-records" and items["2g_bias"]["value"] == bias
    assert items["3_explainability"]["source"] == "filled-from-records"
    assert items["3_explainability"]["value"] == importance
    assert "Examination of possible biases" in html_path.read_text(encoding="utf-8")


def test_a_version_without_an_explanation_says_how_to_record_one(client: Client) -> None:
    fairness_gated.run({"max_gap": 0.9}, client=client).check()
    card = ModelCardService(client.backend.db, actor="tester").card("credit", 1)
    fields = {f.key: f.value for f in card.fields()}
    assert (
        fields["explainability"].startswith("no explanation was recorded")
        and "modelyard explain" in fields["explainability"]
    )
    assert "demographic parity" in fields["fairness"]  # the gate ran with a sensitive attribute
