"""Model uploads: reserve a folder in a run, upload its files, finish (recorded, digested,
registered like any logged model) or fail; records of folders already in a run; tags."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelyard.domain.lineage import NodeKind, NodeRef, Relation
from modelyard.domain.model_uploads import UploadStatus
from modelyard.errors import AlreadyExists, InvalidInput, NotFound
from modelyard.governance import LineageService
from modelyard.models import directory_digest
from modelyard.registry import ModelUploadService
from modelyard.tracking import ArtifactService

from .conftest import Registry


def _files(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "MLmodel").write_text("flavors:\n  sklearn: {}\n  python_function: {}\n")
    (folder / "model.pkl").write_bytes(b"\x00" * 100)
    return folder


def test_begin_upload_finish_records_a_logged_model(reg: Registry, tmp_path: Path) -> None:
    uploads = ModelUploadService(reg.db, reg.store)
    artifacts = ArtifactService(reg.db, reg.store)
    run_id = reg.new_run()
    upload = uploads.begin(run_id, "model", tags={"source": "mlflow"})
    assert upload.status is UploadStatus.PENDING and upload.storage_uri.endswith(f"{run_id}/artifacts/model")
    assert [u.model_id for u in uploads.for_run(run_id)] == [upload.model_id]
    with pytest.raises(InvalidInput, match="no files yet"):
        uploads.finish(upload.model_id, flavor="mlflow.sklearn")

    local = _files(tmp_path / "m")
    artifacts.log_dir(run_id, local, "model")
    logged = uploads.finish(upload.model_id, flavor="mlflow.sklearn")
    assert logged.model_id == upload.model_id and logged.digest == directory_digest(local)
    assert reg.logged.find(run_id, "model") == logged and uploads.get(upload.model_id) is None
    with pytest.raises(NotFound):  # finished: no longer an upload
        uploads.finish(upload.model_id, flavor="x")
    assert uploads.tags_of([logged.model_id]) == {logged.model_id: {"source": "mlflow"}}

    version = reg.versions.create("uploaded", f"runs:/{run_id}/model", create_model=True)
    assert version.model_id == logged.model_id and version.flavor == "mlflow.sklearn"
    graph = LineageService(reg.db).graph(NodeRef(kind=NodeKind.LOGGED_MODEL, id=logged.model_id))
    assert [(e.source, e.relation) for e in graph.parents(graph.root)] == [
        (NodeRef(kind=NodeKind.RUN, id=run_id), Relation.PRODUCED)
    ]


def test_names_are_reserved_and_failures_keep_them(reg: Registry) -> None:
    uploads = ModelUploadService(reg.db, reg.store)
    run_id = reg.new_run()
    upload = uploads.begin(run_id, "model")
    with pytest.raises(AlreadyExists):
        uploads.begin(run_id, "model")
    uploads.fail(upload.model_id)
    failed = uploads.get(upload.model_id)
    assert failed is not None and failed.status is UploadStatus.FAILED
    with pytest.raises(InvalidInput):
        uploads.begin(run_id, "../escape")
    with pytest.raises(NotFound):
        uploads.begin("0" * 32, "model")
    finished, pending = uploads.search([failed.experiment_id], name="model")
    assert finished == [] and [p.model_id for p in pending] == [upload.model_id]


def test_record_existing_folder_and_tags(reg: Registry, tmp_path: Path) -> None:
    uploads = ModelUploadService(reg.db, reg.store)
    run_id = reg.new_run()
    ArtifactService(reg.db, reg.store).log_dir(run_id, _files(tmp_path / "m"), "legacy")
    logged = uploads.record_existing(run_id, "legacy", flavor="mlflow.sklearn", tags={"a": "1"})
    assert uploads.record_existing(run_id, "legacy", flavor="mlflow.sklearn") == logged  # once only
    with pytest.raises(NotFound):
        uploads.record_existing(run_id, "missing", flavor="mlflow.sklearn")
    uploads.set_tags(logged.model_id, {"b": "2"})
    uploads.delete_tag(logged.model_id, "a")
    assert uploads.tags_of([logged.model_id]) == {logged.model_id: {"b": "2"}}
    with pytest.raises(NotFound):
        uploads.delete_tag(logged.model_id, "a")
