"""One name check for every kind of name: control characters and over-long names are InvalidInput.

Each kind is tried through the service that stores it, so a validator that forgets the shared
check (or matches with ``$``, which lets a trailing newline through) fails here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from modelyard.config import Settings
from modelyard.errors import InvalidInput
from modelyard.names import check_name
from modelyard.sdk.backends import local
from modelyard.sdk.client import Client

BAD = ["m\n", "bob\nadmin0", "a\x00b", "tab\there", "x" * 5000]


@pytest.mark.parametrize("value", BAD)
def test_check_name_refuses_control_characters_and_over_long_names(value: str) -> None:
    with pytest.raises(InvalidInput, match=r"control character|the limit is"):
        check_name("thing", value)


def test_a_pattern_must_match_the_whole_name() -> None:
    with pytest.raises(InvalidInput, match=r"not allowed|control"):
        check_name("thing", "ok!", pattern=re.compile(r"[a-z]+"))
    assert check_name("thing", "ok", pattern=re.compile(r"[a-z]+")) == "ok"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[Client]:
    settings = Settings(
        home=tmp_path / "home",
        store_uri=f"sqlite:///{tmp_path / 'home' / 'modelyard.db'}",
        artifact_uri=str(tmp_path / "artifacts"),
        user="admin",
        capture_environment=False,
    )
    client = Client(settings)
    yield client
    client.backend.db.dispose()
    local._backends.pop(settings, None)


def _namers(client: Client) -> dict[str, Callable[[str], Any]]:
    b = client.backend
    run_id = client.create_run(None).info.run_id

    def deploy(name: str) -> Any:
        return b.deployments.deploy(name, "models:/nothing/1")

    def alias(name: str) -> Any:
        return b.aliases.set("m", name, 1)

    return {
        "experiment": lambda n: client.create_experiment(n),
        "run name": lambda n: client.create_run(None, run_name=n),
        "param key": lambda n: client.log_param(run_id, n, 1),
        "tag key": lambda n: client.set_tag(run_id, n, "v"),
        "metric key": lambda n: client.log_metric(run_id, n, 1.0),
        "model": lambda n: b.registered_models.create(n),
        "model tag key": lambda n: b.registered_models.create("tagged", tags={n: "v"}),
        "alias": alias,
        "dataset": lambda n: b.datasets.log(__import__("pandas").DataFrame({"a": [1]}), n),
        "deployment": deploy,
        "user": lambda n: b.identity.create_user(n),
        "artifact path": lambda n: client.log_text(run_id, "x", n),
    }


@pytest.mark.parametrize("value", ["m\n", "bob\nadmin0", "a\x00b", "y" * 5000])
def test_every_kind_of_name_refuses_control_characters_and_over_long_names(client: Client, value: str) -> None:
    for kind, make in _namers(client).items():
        with pytest.raises(InvalidInput) as caught:
            make(value)
        assert "control character" in str(caught.value) or "limit is" in str(caught.value), (kind, caught.value)


@pytest.mark.parametrize(
    "path, message",
    [
        ("a\x00b.txt", "control character"),
        ("x" * 300, "the limit is 200"),
        ("a/" * 2500 + "f", "the limit is 1024"),
    ],
)
def test_artifact_paths_a_file_system_cannot_hold_are_invalid_input(
    client: Client, tmp_path: Path, path: str, message: str
) -> None:
    run_id = client.create_run(None).info.run_id
    source = tmp_path / "f.txt"
    source.write_text("x")
    with pytest.raises(InvalidInput, match=message):
        client.log_text(run_id, "x", path)
    with pytest.raises(InvalidInput, match=message):
        client.log_artifact(run_id, source, path)


def test_a_local_file_name_too_long_for_the_file_system_is_invalid_input(client: Client, tmp_path: Path) -> None:
    run_id = client.create_run(None).info.run_id
    with pytest.raises(InvalidInput, match="cannot read the file"):
        client.log_artifact(run_id, tmp_path / ("n" * 300))
