"""The URIs users write: each spelling parses the same everywhere; mistakes say what was expected."""

from __future__ import annotations

import pytest

from modelyard.errors import InvalidInput
from modelyard.uris import parse_dataset_uri, parse_model_uri, parse_run_uri

RUN_ID = "0123456789abcdef0123456789ABCDEF"


def test_run_uri_with_and_without_a_path() -> None:
    assert parse_run_uri(f"runs:/{RUN_ID}").path == ""
    parsed = parse_run_uri(f"runs:/{RUN_ID}/model/MLmodel")
    assert parsed.run_id == RUN_ID.lower()
    assert parsed.path == "model/MLmodel"
    assert parse_run_uri(f"runs:/{RUN_ID}/model/").path == "model"


@pytest.mark.parametrize("uri", ["runs:/abc/model", "run:/" + "a" * 32, "runs://" + "a" * 32, "", "models:/x/1"])
def test_bad_run_uris_are_refused(uri: str) -> None:
    with pytest.raises(InvalidInput, match="not a run URI"):
        parse_run_uri(uri)


def test_model_uri_by_version_and_by_alias() -> None:
    by_version = parse_model_uri("models:/churn-rf/3")
    assert (by_version.name, by_version.version, by_version.alias) == ("churn-rf", 3, None)
    by_alias = parse_model_uri("models:/churn.rf@champion/data")
    assert (by_alias.name, by_alias.version, by_alias.alias, by_alias.path) == ("churn.rf", None, "champion", "data")


@pytest.mark.parametrize("uri", ["models:/churn", "models:/churn/v1", "models:/@prod", "models:/a/1@x", "runs:/x"])
def test_bad_model_uris_are_refused(uri: str) -> None:
    with pytest.raises(InvalidInput, match="not a model URI"):
        parse_model_uri(uri)


def test_dataset_uri() -> None:
    parsed = parse_dataset_uri("datasets:/customers@0a1b2c")
    assert (parsed.name, parsed.digest_prefix) == ("customers", "0a1b2c")


@pytest.mark.parametrize(
    "uri", ["datasets:/customers", "datasets:/customers@abc", "datasets:/c@XYZ1", "datasets:/@abcd"]
)
def test_bad_dataset_uris_are_refused(uri: str) -> None:
    with pytest.raises(InvalidInput, match="not a dataset URI"):
        parse_dataset_uri(uri)
