"""Annex IV point 1 in the regulation's wording: (e) the hardware the system is intended to run on, and (f)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.governance.conftest import ADMIN, World


def test_annex_iv_1e_asks_for_the_intended_hardware_and_1f_is_present(world: World, tmp_path: Path) -> None:
    world.train()
    json_path, _ = world.as_user(ADMIN).compliance.write("churn", 1, tmp_path / "report")
    section = next(s for s in json.loads(json_path.read_text())["sections"] if s["key"] == "1")
    fields = {f["key"]: f for f in section["fields"]}

    intended = fields["1e_hardware"]
    assert intended["label"] == "(e) Hardware on which the AI system is intended to run"
    assert intended["source"] == "left-for-a-person"  # the records know where it trained, not where it will run
    assert fields["1e_training_hardware"]["source"] == "filled-from-records"
    assert fields["1f_product"]["label"].startswith("(f) Where the AI system is a component of products")
    assert [f["key"][:2] for f in section["fields"]] == sorted(f["key"][:2] for f in section["fields"])  # (a)..(h)
