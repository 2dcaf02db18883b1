"""Logging models into runs: files, the record, its lineage edge, and the refusals."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from modelyard.domain.lineage import NodeKind, NodeRef, Relation
from modelyard.domain.registry import LoggedModel
from modelyard.errors import AlreadyExists, Conflict, InvalidInput, NotFound
from modelyard.models import infer_signature, read_manifest
from modelyard.store.repos import lineage as lineage_rows

from .conftest import Registry


def test_logged_model_is_stored_in_the_run_and_recorded(
    reg: Registry, classifier: LogisticRegression, features: pd.DataFrame
) -> None:
    run_id = reg.new_run()
    logged = reg.logged.log(run_id, classifier, "clf", input_example=features.head(3))

    info = reg.runs.get(run_id).info
    names = {f.path for f in reg.store.list(info.artifact_uri, "clf")}
    assert "clf/modelyard.json" in names and "clf/model" in names
    assert logged.uri == f"runs:/{run_id}/clf"
    assert logged.flavor == "sklearn"
    assert logged.signature is not None and logged.signature.input_names == tuple(features.columns)
    assert reg.logged.get(logged.model_id) == logged
    assert reg.logged.find(run_id, "clf") == logged
    assert reg.logged.list_for_run(run_id) == [logged]

    local = reg.store.download(info.artifact_uri, "clf", reg.resolver.cache_dir.parent / "check")
    assert read_manifest(local).digest == logged.digest


def test_logging_records_the_run_to_model_lineage_edge(
    reg: Registry, log_classifier: Callable[..., LoggedModel]
) -> None:
    run_id = reg.new_run()
    logged = log_classifier(run_id)
    with reg.db.read() as conn:
        edges = lineage_rows.downstream(conn, [NodeRef(kind=NodeKind.RUN, id=run_id)])
    assert [(e.target, e.relation) for e in edges] == [
        (NodeRef(kind=NodeKind.LOGGED_MODEL, id=logged.model_id), Relation.PRODUCED)
    ]
    assert edges[0].properties == {"artifact_path": "model", "flavor": "sklearn", "digest": logged.digest}


def test_a_second_model_at_the_same_path_is_refused(reg: Registry, log_classifier: Callable[..., LoggedModel]) -> None:
    run_id = reg.new_run()
    first = log_classifier(run_id)
    with pytest.raises(AlreadyExists, match="model"):
        log_classifier(run_id)
    second = log_classifier(run_id, name="other")
    assert {m.model_id for m in reg.logged.list_for_run(run_id)} == {first.model_id, second.model_id}


def test_logging_to_a_missing_or_deleted_run_is_refused(
    reg: Registry, log_classifier: Callable[..., LoggedModel]
) -> None:
    with pytest.raises(NotFound, match="no run"):
        log_classifier("0" * 32)
    run_id = reg.new_run()
    reg.runs.delete(run_id)
    with pytest.raises(Conflict, match="deleted"):
        log_classifier(run_id)


def test_bad_names_and_models_are_invalid_input(reg: Registry, classifier: LogisticRegression) -> None:
    run_id = reg.new_run()
    with pytest.raises(InvalidInput, match="needs a name"):
        reg.logged.log(run_id, classifier, "")
    with pytest.raises(InvalidInput, match=r"\.\."):
        reg.logged.log(run_id, classifier, "../escape")
    with pytest.raises(InvalidInput):
        reg.logged.log(run_id, object(), "nothing")
    assert reg.logged.list_for_run(run_id) == []


def test_an_example_breaking_the_signature_is_refused_and_nothing_is_recorded(
    reg: Registry, classifier: LogisticRegression, features: pd.DataFrame
) -> None:
    run_id = reg.new_run()
    signature = infer_signature(features)
    with pytest.raises(InvalidInput):
        reg.logged.log(
            run_id, classifier, "m", input_example=features.drop(columns=["sepal_length"]), signature=signature
        )
    assert reg.logged.list_for_run(run_id) == []
    assert not reg.store.exists(reg.runs.get(run_id).info.artifact_uri, "m")


def test_logged_model_loads_back_through_its_run_uri(
    reg: Registry, log_classifier: Callable[..., LoggedModel], classifier: LogisticRegression, features: pd.DataFrame
) -> None:
    logged = log_classifier()
    predictor = reg.resolver.load(logged.uri)
    np.testing.assert_array_equal(predictor.predict(features), classifier.predict(features))
    np.testing.assert_allclose(predictor.predict_proba(features), classifier.predict_proba(features))
