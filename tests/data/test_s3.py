"""Artifacts and datasets on ``s3://``, against a real S3 API server (moto's) on 127.0.0.1."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import modelyard as my
from tests._subprocess import free_port as _free_port

moto_server = pytest.importorskip("moto.server")
boto3 = pytest.importorskip("boto3")
pytest.importorskip("s3fs")

BUCKET = "modelyard-test"


@pytest.fixture
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh S3 API server with one empty bucket; fake credentials only."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=BUCKET)
    try:
        yield endpoint
    finally:
        server.stop()


@pytest.fixture
def s3_sdk(s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The fluent SDK configured through the environment: metadata in SQLite, artifacts on S3."""
    monkeypatch.setenv("MODELYARD_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MODELYARD_STORE_URI", f"sqlite:///{tmp_path / 'store.db'}")
    monkeypatch.setenv("MODELYARD_ARTIFACT_URI", f"s3://{BUCKET}/prefix")
    monkeypatch.setenv("MODELYARD_S3_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("MODELYARD_CAPTURE_ENVIRONMENT", "false")
    # None overrides are ignored, so this clears what earlier tests configured and the environment wins.
    my.configure(home=None, store_uri=None, artifact_uri=None, s3_endpoint_url=None)
    yield s3_endpoint
    my.end_run()


def test_run_artifacts_and_datasets_round_trip_through_s3(s3_sdk: str, tmp_path: Path) -> None:
    assert my.client().settings.artifact_uri == f"s3://{BUCKET}/prefix"
    source = tmp_path / "notes.txt"
    source.write_text("hello from a run\n")
    frame = pd.DataFrame({"x": [0.5, 1.5, None, 4.0], "c": ["a", "b", "a", None]})
    with my.start_run(experiment="s3") as run:
        my.log_artifact(source, "docs")
        version = my.log_dataset(frame, "s3-train", role="train")
    run_id = run.info.run_id

    downloaded = Path(my.download_artifacts(run_id, "docs/notes.txt", tmp_path / "out"))
    assert downloaded.read_text() == "hello from a run\n"
    assert [f.path for f in my.list_artifacts(run_id, "docs")] == ["docs/notes.txt"]

    pd.testing.assert_frame_equal(my.load_dataset(version.uri), frame)
    assert my.get_dataset_version(f"datasets:/s3-train@{version.digest[:8]}") == version
    assert [(i.run_id, i.role.value) for i in my.get_run_inputs(run_id)] == [(run_id, "train")]

    # Read the objects with a plain S3 client: they are really on the server, where the rule says.
    s3 = boto3.client("s3", endpoint_url=s3_sdk)
    key = f"prefix/datasets/s3-train/{version.digest}/data.parquet"
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == version.digest
    run_keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="prefix/")["Contents"]]
    assert any(k.endswith(f"/{run_id}/artifacts/docs/notes.txt") for k in run_keys)
