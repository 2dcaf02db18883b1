"""Issue 15.9: a model card's Markdown carries YAML front matter that huggingface_hub's ModelCard reads."""

from __future__ import annotations

import warnings

from modelyard.governance._render import to_markdown
from tests.governance.conftest import ADMIN, World

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from huggingface_hub import ModelCard


def test_hugging_face_model_card_parses_the_front_matter(world: World) -> None:
    world.train()
    document = world.as_user(ADMIN).cards.card("churn", 1)

    card = ModelCard(to_markdown(document), ignore_metadata_errors=False)

    assert card.data.license == "other"
    assert "modelyard" in card.data.tags and card.data.library_name == "modelyard"
    assert card.data.datasets == ["churn-train"]
    metrics = {r.metric_type: r.metric_value for r in card.data.eval_results or []}
    assert metrics and all(isinstance(v, float) for v in metrics.values())
    assert set(metrics) == set(card.data.metrics)
    assert card.text.lstrip().startswith("# Model card: churn/1")  # the body follows the header
    output = next(f.value for f in document.fields() if f.key == "output_format")
    assert "Spec(" not in output  # a readable format, not a Python repr
