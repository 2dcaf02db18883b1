"""Late labels: recorded through the SDK and the service, replaced when corrected, imported from CSV."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import modelyard as my
from modelyard.clock import FixedClock
from modelyard.config import Settings
from modelyard.errors import InvalidInput, NotFound
from modelyard.sdk import fluent
from modelyard.sdk.client import Client
from modelyard.serving.feedback import FeedbackService
from modelyard.store.db import Database


def test_labels_are_stored_and_a_correction_replaces_them(db: Database) -> None:
    clock = FixedClock(1_000)
    service = FeedbackService(db, clock=clock)
    service.log("r1", 1)
    service.log_many({"r2": "fraud", "r3": [0.5, 0.5], "r4": np.int64(0)})
    clock.advance(500)
    service.log("r1", 0)  # the chargeback was reversed

    found = service.get_many(["r1", "r2", "r3", "r4", "unknown"])

    assert {k: (v.label, v.time_ms) for k, v in found.items()} == {
        "r1": (0, 1_500),
        "r2": ("fraud", 1_000),
        "r3": ([0.5, 0.5], 1_000),
        "r4": (0, 1_000),
    }


def test_a_batch_with_one_bad_item_stores_nothing(db: Database) -> None:
    service = FeedbackService(db)
    with pytest.raises(InvalidInput, match="item 1: request_id must be a non-empty string"):
        service.log_many([("ok", 1), ("", 2)])
    with pytest.raises(InvalidInput, match="request 'x': the label is missing"):
        service.log_many([("ok", 1), ("x", float("nan"))])
    with pytest.raises(InvalidInput, match="not JSON data"):
        service.log("y", object())
    assert service.get_many(["ok", "x", "y"]) == {}


def test_sdk_fluent_and_client(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    client = Client(settings)
    client.log_feedback("c1", 1)
    client.log_feedback_batch([("c2", 0), ("c3", 1)])
    monkeypatch.setattr(fluent, "_settings_overrides", {})
    monkeypatch.setattr(fluent, "_client", None)
    fluent.configure(**settings.model_dump())

    stored = my.log_feedback("f1", "churned")
    my.log_feedback_batch({"f2": "stayed"})

    assert stored.request_id == "f1" and stored.label == "churned"
    labels = {k: v.label for k, v in client.backend.feedback.get_many(["c1", "c2", "c3", "f1", "f2"]).items()}
    assert labels == {"c1": 1, "c2": 0, "c3": 1, "f1": "churned", "f2": "stayed"}


def test_csv_import_parses_json_cells_in_chunks(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    lines = ["request_id,label"] + [f"r{i},{i % 2}" for i in range(25)] + ["s1,fraud", "s2,0.25", 's3,"[1, 2]"']
    path.write_text("\n".join(lines) + "\n")
    service = FeedbackService(db)

    assert service.import_csv(path, chunk_rows=4) == 28

    found = service.get_many(["r0", "r1", "r24", "s1", "s2", "s3"])
    assert {k: v.label for k, v in found.items()} == {
        "r0": 0,
        "r1": 1,
        "r24": 0,
        "s1": "fraud",
        "s2": 0.25,
        "s3": [1, 2],
    }


def test_csv_import_errors_name_the_problem(db: Database, tmp_path: Path) -> None:
    service = FeedbackService(db)
    with pytest.raises(NotFound, match="no such file"):
        service.import_csv(tmp_path / "missing.csv")
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("id,y\na,1\n")
    with pytest.raises(InvalidInput, match=r"has no \['label', 'request_id'\] column"):
        service.import_csv(wrong)
    empty_label = tmp_path / "gap.csv"
    empty_label.write_text("request_id,label\na,1\nb,\n")
    with pytest.raises(InvalidInput, match=r"line 2.*request 'b': the label is missing"):
        service.import_csv(empty_label)
