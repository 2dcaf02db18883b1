"""Issue 15.9: the Model Card Toolkit fields a person fills, and the evaluation's figures (not the
pipeline runner's bookkeeping) for a version a pipeline trained, checked with huggingface_hub's
``ModelCard``."""

from __future__ import annotations

import warnings

from modelyard.config import Settings
from modelyard.domain.governance import CARD_EXTRA_FIELDS, ApprovalPolicy
from modelyard.governance import ModelCardService
from modelyard.governance._render import to_markdown
from modelyard.governance.approvals import missing_preconditions
from modelyard.sdk.client import Client
from tests.governance.conftest import ADMIN, World
from tests.pipelines.gated_flows import gated

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from huggingface_hub import ModelCard


def test_model_card_toolkit_fields_are_set_by_a_person_and_optional(world: World) -> None:
    world.train()
    cards = world.as_user(ADMIN).cards
    values = {
        "documentation": "https://wiki.example/churn",
        "licenses": "Apache-2.0",
        "references": "Customer churn study, 2025",
        "citations": "Doe et al., Predicting churn (2026)",
        "users": "retention analysts",
        "input_description": "one row per customer, monthly aggregates",
        "output_description": "1 when the customer is likely to leave within 90 days",
    }
    assert set(values) == set(CARD_EXTRA_FIELDS)
    cards.set_fields("churn", 1, values)
    document = cards.card("churn", 1)
    by_key = {f.key: f for f in document.fields()}
    assert {k: by_key[k].value for k in values} == values
    assert all(by_key[k].source.value == "left-for-a-person" for k in values)
    assert by_key["input_format"].value == "x1:float64, x2:int64"  # the signature, still filled from records

    card = ModelCard(to_markdown(document), ignore_metadata_errors=False)
    assert card.data.license == "apache-2.0"  # one identifier: the hub's license field
    assert "Doe et al., Predicting churn (2026)" in card.text and "retention analysts" in card.text

    cards.set_fields("churn", 1, {"licenses": "internal use only, see legal"})
    assert ModelCard(to_markdown(cards.card("churn", 1))).data.license == "other"  # free text stays in the body

    policy = ApprovalPolicy(model_name="churn", require_model_card=True)
    with world.backend.db.read() as conn:
        (missing,) = missing_preconditions(conn, policy, "churn", 1)
    assert "intended_use" in missing and "documentation" not in missing  # the extras never block


def test_a_pipeline_trained_card_shows_the_gate_evaluation_not_step_bookkeeping(settings: Settings) -> None:
    client = Client(settings)
    result = gated.run({}, client=client).check()
    version = result.output("register")["version"]
    document = ModelCardService(client.backend.db, actor=settings.user).card("churn", version)
    by_key = {f.key: f.value for f in document.fields()}

    metrics = by_key["metrics"]
    assert metrics.startswith("evaluated by the validation gate")
    assert "roc_auc = " in metrics and "accuracy = " in metrics
    assert "attempts" not in metrics and "duration_s" not in metrics
    assert "step fit_segments of pipeline gated, 1 attempt(s)" in by_key["training_run"]

    card = ModelCard(to_markdown(document), ignore_metadata_errors=False)
    figures = {r.metric_type: r.metric_value for r in card.data.eval_results or []}
    evaluated = result.output("evaluate")  # the same model on the same holdout, by the evaluate step
    assert figures["roc_auc"] == evaluated["roc_auc"] and figures["accuracy"] == evaluated["accuracy"]
    assert not {"attempts", "duration_s", "failed_checks"} & set(figures)
    holdout = {r.dataset_name for r in card.data.eval_results or []}
    assert len(holdout) == 1 and holdout.pop() in metrics  # the gate's holdout, named in both places
