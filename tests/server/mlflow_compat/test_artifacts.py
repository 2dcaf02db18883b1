"""Artifacts through the ``mlflow-artifacts:`` proxy: upload, list, download, refused paths."""

from __future__ import annotations

from pathlib import Path

import httpx
import mlflow
from mlflow import MlflowClient

from .conftest import RunningServer


def test_log_list_and_download_artifacts(mlflow_server: RunningServer, tmp_path: Path) -> None:
    report = tmp_path / "report.txt"
    report.write_text("auc 0.91\n")
    folder = tmp_path / "plots"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.csv").write_text("x,y\n1,2\n")
    (folder / "sub" / "b.bin").write_bytes(bytes(range(256)) * 4096)  # 1 MiB
    with mlflow.start_run() as run:
        assert run.info.artifact_uri.startswith("mlflow-artifacts:/")
        mlflow.log_artifact(str(report))
        mlflow.log_artifacts(str(folder), artifact_path="plots")
        mlflow.log_dict({"features": ["a", "b"]}, "meta/features.json")
    run_id = run.info.run_id

    client = MlflowClient()
    assert [(f.path, f.is_dir) for f in client.list_artifacts(run_id)] == [
        ("meta", True),
        ("plots", True),
        ("report.txt", False),
    ]
    assert [f.path for f in client.list_artifacts(run_id, "plots")] == ["plots/a.csv", "plots/sub"]
    local = Path(mlflow.artifacts.download_artifacts(run_id=run_id, dst_path=str(tmp_path / "out")))
    assert (local / "report.txt").read_text() == "auc 0.91\n"
    assert (local / "plots" / "sub" / "b.bin").read_bytes() == bytes(range(256)) * 4096
    assert mlflow.artifacts.load_dict(f"runs:/{run_id}/meta/features.json") == {"features": ["a", "b"]}

    # the run's ordinary artifacts, as modelyard's own service lists them
    names = [f.path for f in mlflow_server.backend.artifacts.list(run_id, "plots/sub")]
    assert names == ["plots/sub/b.bin"]


def test_paths_outside_a_run_are_refused(mlflow_server: RunningServer) -> None:
    with mlflow.start_run() as run:
        pass
    experiment_id, run_id = run.info.experiment_id, run.info.run_id
    base = f"{mlflow_server.url}/api/2.0/mlflow-artifacts/artifacts"
    escape = httpx.put(f"{base}/{experiment_id}/{run_id}/artifacts/..%2F..%2F..%2Fescape.txt", content=b"x")
    assert escape.status_code == 400 and escape.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    wrong = httpx.put(f"{base}/999/{run_id}/artifacts/x.txt", content=b"x")
    assert wrong.status_code == 404 and wrong.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert httpx.get(f"{base}", params={"path": "../.."}).status_code == 400
