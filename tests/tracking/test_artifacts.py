"""A run's artifacts through the service: below the run's URI, never outside it."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelyard.errors import Conflict, InvalidInput, NotFound
from tracking.conftest import Tracking


def test_log_file_dir_and_bytes_then_list_read_download(tracking: Tracking, tmp_path: Path) -> None:
    run_id = tracking.new_run()
    local = tmp_path / "report.txt"
    local.write_text("fine")
    folder = tmp_path / "plots"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.png").write_bytes(b"png")
    (folder / "sub" / "b.png").write_bytes(b"png2")
    assert tracking.artifacts.log_file(run_id, local) == "report.txt"
    assert tracking.artifacts.log_file(run_id, local, "docs") == "docs/report.txt"
    assert tracking.artifacts.log_dir(run_id, folder, "plots") == ["plots/a.png", "plots/sub/b.png"]
    assert tracking.artifacts.log_bytes(run_id, b"{}", "cfg/params.json") == "cfg/params.json"
    assert [f.path for f in tracking.artifacts.list(run_id)] == ["cfg", "docs", "plots", "report.txt"]
    assert [f.path for f in tracking.artifacts.list(run_id, "plots")] == ["plots/a.png", "plots/sub"]
    assert tracking.artifacts.read_bytes(run_id, "docs/report.txt") == b"fine"
    out = tracking.artifacts.download(run_id, "plots", tmp_path / "dl")
    assert (out / "sub" / "b.png").read_bytes() == b"png2"


@pytest.mark.parametrize("bad", ["../outside.txt", "/etc/x.txt", "a/../../x.txt"])
def test_escaping_paths_are_refused(tracking: Tracking, tmp_path: Path, bad: str) -> None:
    run_id = tracking.new_run()
    with pytest.raises(InvalidInput, match="artifact path"):
        tracking.artifacts.log_bytes(run_id, b"x", bad)
    local = tmp_path / "f.txt"
    local.write_text("x")
    with pytest.raises(InvalidInput, match="artifact path"):
        tracking.artifacts.log_file(run_id, local, bad)
    assert not any(p.name in ("outside.txt", "x.txt") for p in tmp_path.rglob("*") if p != local)


def test_missing_things(tracking: Tracking, tmp_path: Path) -> None:
    run_id = tracking.new_run()
    with pytest.raises(NotFound, match="no such file"):
        tracking.artifacts.log_file(run_id, tmp_path / "missing.txt")
    with pytest.raises(NotFound, match="no run"):
        tracking.artifacts.list("f" * 32)
    with pytest.raises(NotFound):
        tracking.artifacts.read_bytes(run_id, "missing.txt")


def test_deleted_runs_take_no_files_but_can_be_read(tracking: Tracking) -> None:
    run_id = tracking.new_run()
    tracking.artifacts.log_bytes(run_id, b"x", "a.txt")
    tracking.runs.delete(run_id)
    with pytest.raises(Conflict, match="is deleted"):
        tracking.artifacts.log_bytes(run_id, b"y", "b.txt")
    assert tracking.artifacts.read_bytes(run_id, "a.txt") == b"x"
