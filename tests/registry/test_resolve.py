"""``load_model`` for every URI form, the digest-keyed cache and its tamper checks."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

from modelyard.domain.registry import LoggedModel, ModelVersion
from modelyard.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from modelyard.models import MANIFEST_NAME, ModelManifest, manifest_digest, save_model

from .conftest import Registry


def test_every_uri_form_loads_the_same_model(
    reg: Registry,
    register: Callable[[str], ModelVersion],
    classifier: LogisticRegression,
    features: pd.DataFrame,
    tmp_path: Path,
) -> None:
    version = register("iris")
    reg.aliases.set("iris", "champion", 1)
    local = tmp_path / "local-model"
    save_model(classifier, local, input_example=features.head())
    expected = classifier.predict(features)
    for uri in (f"runs:/{version.run_id}/model", "models:/iris/1", "models:/iris@champion", str(local), local):
        predictor = reg.resolver.load(uri, trusted=True)
        np.testing.assert_array_equal(predictor.predict(features), expected)
        assert predictor.has_predict_proba


def test_regressor_has_predict_but_no_predict_proba(
    reg: Registry, regressor: LinearRegression, features: pd.DataFrame
) -> None:
    inputs = features.drop(columns=["petal_width"])
    logged = reg.logged.log(reg.new_run(), regressor, "reg", input_example=inputs.head())
    predictor = reg.resolver.load(logged.uri)
    np.testing.assert_allclose(predictor.predict(inputs), regressor.predict(inputs))
    with pytest.raises(InvalidInput, match="no predict_proba"):
        predictor.predict_proba(inputs)


def test_models_are_cached_by_digest_and_shared_between_versions(
    reg: Registry, log_classifier: Callable[..., LoggedModel]
) -> None:
    logged = log_classifier()
    reg.versions.create("a", logged.uri, create_model=True)
    reg.versions.create("b", logged.uri, create_model=True)
    first = reg.resolver.resolve("models:/a/1")
    second = reg.resolver.resolve("models:/b/1")
    assert first.local_path == second.local_path
    assert first.local_path.parent == reg.resolver.cache_dir
    assert first.local_path.name == logged.digest.replace(":", "-")
    assert [p.name for p in reg.resolver.cache_dir.iterdir()] == [first.local_path.name]  # no partial leftovers


def test_a_tampered_cache_copy_is_fetched_again(
    reg: Registry, register: Callable[[str], ModelVersion], features: pd.DataFrame
) -> None:
    register("m")
    cached = reg.resolver.resolve("models:/m/1").local_path
    (cached / "requirements.txt").write_text("evil==1\n")
    predictor = reg.resolver.load("models:/m/1")
    assert predictor.predict(features).shape == (len(features),)
    assert "evil" not in (cached / "requirements.txt").read_text()


def test_a_tampered_stored_model_is_refused(reg: Registry, register: Callable[[str], ModelVersion]) -> None:
    version = register("m")
    stored = Path(version.storage_uri)
    (stored / "requirements.txt").write_text("evil==1\n")
    with pytest.raises(Conflict, match="digest"):
        reg.resolver.load("models:/m/1")


def test_a_replaced_model_with_its_own_valid_manifest_is_refused(
    reg: Registry, register: Callable[[str], ModelVersion], regressor: LinearRegression, tmp_path: Path
) -> None:
    version = register("m")
    other = tmp_path / "other"
    save_model(regressor, other)
    stored = Path(version.storage_uri)
    shutil.rmtree(stored)
    shutil.copytree(other, stored)
    with pytest.raises(Conflict, match="expected"):
        reg.resolver.load("models:/m/1")


def test_a_model_logged_as_plain_artifacts_loads_by_its_run_uri(
    reg: Registry, classifier: LogisticRegression, features: pd.DataFrame, tmp_path: Path
) -> None:
    run_id = reg.new_run()
    save_model(classifier, tmp_path / "m")
    reg.store.put_dir(reg.runs.get(run_id).info.artifact_uri, "raw/model", tmp_path / "m")
    with pytest.raises(PermissionDenied, match="never recorded"):
        reg.resolver.load(f"runs:/{run_id}/raw/model")  # anyone who can log artifacts could have put it there
    predictor = reg.resolver.load(f"runs:/{run_id}/raw/model", trusted=True)
    np.testing.assert_array_equal(predictor.predict(features), classifier.predict(features))


def test_a_local_folder_loads_only_if_recorded_or_trusted(
    reg: Registry, register: Callable[[str], ModelVersion], features: pd.DataFrame, tmp_path: Path
) -> None:
    version = register("m")
    copy = tmp_path / "copy"
    shutil.copytree(version.storage_uri, copy)
    reg.resolver.load(copy)  # byte for byte a model the store recorded: loads
    # Edit the manifest (make a column optional) and rewrite its digest so it is self-consistent.
    manifest = json.loads((copy / MANIFEST_NAME).read_text())
    manifest["signature"]["inputs"][0]["optional"] = True
    manifest["digest"] = manifest_digest(copy, ModelManifest.from_dict(manifest))
    (copy / MANIFEST_NAME).write_text(json.dumps(manifest))
    with pytest.raises(PermissionDenied, match=r"runs any code they hold.*trusted=True"):
        reg.resolver.load(copy)
    assert reg.resolver.load(copy, trusted=True).manifest.signature is not None


def test_unknown_uris_are_named_in_the_error(reg: Registry, register: Callable[[str], ModelVersion]) -> None:
    register("m")
    with pytest.raises(NotFound, match="has no version 7"):
        reg.resolver.load("models:/m/7")
    with pytest.raises(NotFound, match="no alias 'gold'"):
        reg.resolver.load("models:/m@gold")
    with pytest.raises(NotFound, match="no registered model named 'x'"):
        reg.resolver.load("models:/x/1")
    with pytest.raises(NotFound, match="no run"):
        reg.resolver.load(f"runs:/{'b' * 32}/model")
    with pytest.raises(NotFound, match="not a model URI"):
        reg.resolver.load("/definitely/not/here")
    with pytest.raises(InvalidInput, match="not a model URI"):
        reg.resolver.load("models:/bad name")
