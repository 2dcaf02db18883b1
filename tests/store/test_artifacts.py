"""The artifact store: atomic writes, paths that cannot escape, partial files never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelyard.errors import InvalidInput, NotFound
from modelyard.store.artifacts import ArtifactStore, normalize_artifact_path


@pytest.fixture
def store(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore(str(tmp_path / "root"))


@pytest.mark.parametrize(
    ("given", "expected"),
    [(None, ""), ("", ""), (".", ""), ("a/b.txt", "a/b.txt"), ("a//./b/", "a/b"), ("a\\b.txt", "a/b.txt")],
)
def test_paths_are_normalised(given: str | None, expected: str) -> None:
    assert normalize_artifact_path(given) == expected


@pytest.mark.parametrize("bad", ["../x", "a/../../x", "a/..", "/etc/passwd", "C:/x", "..\\x", ".f.partial"])
def test_paths_that_escape_or_are_reserved_are_refused(bad: str) -> None:
    with pytest.raises(InvalidInput, match="artifact path"):
        normalize_artifact_path(bad)


def test_put_read_list_and_download(store: ArtifactStore, tmp_path: Path) -> None:
    base = store.run_artifact_uri("1", "r" * 32)
    local = tmp_path / "model.bin"
    local.write_bytes(b"\x00\x01weights")
    store.put_file(base, "model/model.bin", local)
    store.put_bytes(base, "notes.txt", b"hello")
    assert [(f.path, f.is_dir, f.file_size) for f in store.list(base)] == [
        ("model", True, None),
        ("notes.txt", False, 5),
    ]
    assert [f.path for f in store.list(base, "model")] == ["model/model.bin"]
    assert store.read_bytes(base, "model/model.bin") == b"\x00\x01weights"
    assert store.exists(base, "notes.txt") and not store.exists(base, "nope.txt")
    out = store.download(base, "model", tmp_path / "dl")
    assert (out / "model.bin").read_bytes() == b"\x00\x01weights"
    single = store.download(base, "notes.txt", tmp_path / "dl2")
    assert single.read_bytes() == b"hello"


def test_overwriting_replaces_the_whole_file(store: ArtifactStore) -> None:
    base = store.run_artifact_uri("1", "r" * 32)
    store.put_bytes(base, "a.txt", b"a much longer first version")
    store.put_bytes(base, "a.txt", b"short")
    assert store.read_bytes(base, "a.txt") == b"short"


def test_a_failed_write_leaves_nothing_behind(store: ArtifactStore) -> None:
    base = store.run_artifact_uri("1", "r" * 32)

    def explode(tmp: str) -> None:
        Path(tmp).write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        store._atomic_local(str(Path(base) / "x.bin"), explode)
    assert list(Path(base).iterdir()) == []


def test_partial_files_are_hidden_and_removed(store: ArtifactStore) -> None:
    base = store.run_artifact_uri("1", "r" * 32)
    store.put_bytes(base, "sub/done.txt", b"ok")
    leftover = Path(base) / "sub" / ".big.bin.0123.partial"
    leftover.write_bytes(b"half a file")
    assert [f.path for f in store.list(base, "sub")] == ["sub/done.txt"]
    out = store.download(base, "", Path(base).parent / "dl")
    assert sorted(p.name for p in out.rglob("*") if p.is_file()) == ["done.txt"]
    assert store.remove_partials(base) == 1
    assert not leftover.exists()
    assert store.remove_partials(base) == 0


def test_missing_things_are_not_found(store: ArtifactStore, tmp_path: Path) -> None:
    base = store.run_artifact_uri("1", "r" * 32)
    assert store.list(base) == []
    with pytest.raises(NotFound):
        store.read_bytes(base, "nope.txt")
    with pytest.raises(NotFound):
        store.download(base, "nope", tmp_path / "dl")
    with pytest.raises(NotFound):
        store.put_dir(base, "", tmp_path / "no-such-folder")


def test_writes_need_a_file_name_and_stay_inside(store: ArtifactStore) -> None:
    base = store.run_artifact_uri("1", "r" * 32)
    with pytest.raises(InvalidInput, match="needs a file name"):
        store.put_bytes(base, "", b"x")
    with pytest.raises(InvalidInput, match="climbs out"):
        store.put_bytes(base, "../../escaped.txt", b"x")
    assert not (Path(base).parent / "escaped.txt").exists()


def test_put_dir_copies_a_tree(store: ArtifactStore, tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "deep").mkdir(parents=True)
    (src / "a.txt").write_text("a")
    (src / "deep" / "b.txt").write_text("b")
    base = store.run_artifact_uri("1", "r" * 32)
    assert store.put_dir(base, "out", src) == ["out/a.txt", "out/deep/b.txt"]
    assert store.read_bytes(base, "out/deep/b.txt") == b"b"


def test_memory_filesystem_urls_work() -> None:
    store = ArtifactStore("memory://modelyard-test-artifacts")
    base = store.run_artifact_uri("1", "m" * 32)
    store.put_bytes(base, "x/y.txt", b"in memory")
    assert store.read_bytes(base, "x/y.txt") == b"in memory"
    assert [f.path for f in store.list(base, "x")] == ["x/y.txt"]
    store.fs.rm(store._path(base), recursive=True)


def test_a_folder_holding_only_a_partial_file_is_not_listed_and_is_removed(store: ArtifactStore) -> None:
    base = store.run_artifact_uri("1", "r" * 32)
    store.put_bytes(base, "kept/a.txt", b"a")
    dead = Path(base) / "dead" / "deeper"
    dead.mkdir(parents=True)
    (dead / ".model.bin.0123.partial").write_bytes(b"half")
    assert [f.path for f in store.list(base)] == ["kept"]
    assert store.remove_partials(base) == 1
    assert not (Path(base) / "dead").exists()
    assert (Path(base) / "kept" / "a.txt").exists()
