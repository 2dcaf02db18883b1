"""Batch inference: chunked, bounded, equal to predicting the whole input at once, all-or-nothing output."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modelyard.errors import InvalidInput, NotFound
from modelyard.models import Predictor
from modelyard.serving.batch import count_rows, in_background, predict_file, read_chunks


@pytest.fixture(scope="module")
def big(frame: pd.DataFrame) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 2_345
    return pd.DataFrame(
        {"x1": rng.normal(size=n), "x2": rng.normal(size=n), "n": rng.integers(0, 5, size=n).astype(np.int64)}
    )


@pytest.mark.parametrize(
    ("suffix_in", "suffix_out"), [(".parquet", ".parquet"), (".csv", ".csv"), (".csv", ".parquet")]
)
def test_output_equals_predicting_the_whole_input(
    classifier: Predictor, big: pd.DataFrame, tmp_path: Path, suffix_in: str, suffix_out: str
) -> None:
    source = tmp_path / f"in{suffix_in}"
    if suffix_in == ".csv":
        big.to_csv(source, index=False)
    else:
        big.to_parquet(source, index=False, row_group_size=1_000)
    target = tmp_path / "out" / f"scored{suffix_out}"
    seen: list[int] = []

    result = predict_file(classifier, source, target, chunk_size=500, proba=True, on_chunk=seen.append)

    assert (result.rows, result.chunks, result.max_chunk_rows) == (len(big), 5, 500)
    assert seen == [500, 500, 500, 500, 345]
    out = pd.read_csv(target) if suffix_out == ".csv" else pd.read_parquet(target)
    assert list(out.columns) == ["x1", "x2", "n", "prediction", "proba_0", "proba_1"]
    np.testing.assert_array_equal(out["prediction"].to_numpy(), classifier.predict(big))
    np.testing.assert_allclose(out[["proba_0", "proba_1"]].to_numpy(), classifier.predict_proba(big))
    pd.testing.assert_frame_equal(out[["x1", "x2", "n"]], big, check_exact=suffix_out == ".parquet")
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no partial file left


def test_chunks_are_bounded_whatever_the_blocks(big: pd.DataFrame, tmp_path: Path) -> None:
    source = tmp_path / "in.parquet"
    big.to_parquet(source, index=False, row_group_size=777)
    sizes = [t.num_rows for t in read_chunks(source, 300)]
    assert max(sizes) == 300 and sum(sizes) == len(big) and sizes[-1] == len(big) % 300


def test_signature_breaks_name_the_rows_and_leave_no_output(
    regressor: Predictor, big: pd.DataFrame, tmp_path: Path
) -> None:
    broken = big.astype({"n": "Int64"})
    broken.loc[1_234, "n"] = None  # a gap in a required column, in the third chunk only
    source = tmp_path / "in.csv"
    broken.to_csv(source, index=False)
    target = tmp_path / "out.parquet"

    with pytest.raises(InvalidInput, match=r"rows 1000-1499: .*'n'"):
        predict_file(regressor, source, target, chunk_size=500)

    assert list(tmp_path.iterdir()) == [source]


def test_background_stage_hands_on_items_and_errors_in_order() -> None:
    def items() -> Iterator[int]:
        yield from range(3)
        raise InvalidInput("chunk 3 is broken")

    seen: list[int] = []
    with pytest.raises(InvalidInput, match="chunk 3 is broken"):
        for item in in_background(items()):  # type: ignore[arg-type]
            seen.append(item)  # type: ignore[arg-type]
    assert seen == [0, 1, 2]


def test_background_stage_stops_its_producer_when_the_consumer_stops() -> None:
    produced: list[int] = []

    def endless() -> Iterator[int]:
        n = 0
        while True:
            produced.append(n)
            yield n
            n += 1

    stage = in_background(endless(), depth=2)  # type: ignore[arg-type]
    assert next(stage) == 0
    stage.close()  # what a consumer's error does to the generator: the producer is joined, not left running
    assert len(produced) <= 1 + 2 + 1  # the one consumed, the queue's depth, the one blocked on a full queue
    assert not [t for t in threading.enumerate() if t.name == "modelyard-batch-producer"]


def test_bad_arguments(classifier: Predictor, big: pd.DataFrame, tmp_path: Path) -> None:
    source = tmp_path / "in.parquet"
    big.to_parquet(source)
    with pytest.raises(InvalidInput, match=r"unsupported file type '\.json'"):
        predict_file(classifier, source, tmp_path / "out.json")
    with pytest.raises(NotFound, match="no such input file or folder"):
        predict_file(classifier, tmp_path / "missing.csv", tmp_path / "out.csv")
    with pytest.raises(InvalidInput, match="chunk-size must be at least 1"):
        predict_file(classifier, source, tmp_path / "out.csv", chunk_size=0)
    clash = tmp_path / "clash.parquet"
    big.assign(prediction=1).to_parquet(clash)
    with pytest.raises(InvalidInput):
        predict_file(classifier, clash, tmp_path / "out.csv")


def _partitioned(frame: pd.DataFrame, folder: Path, suffix: str) -> Path:
    """``frame`` as a folder of 3 files in name order, with the marker files writers leave beside them."""
    folder.mkdir()
    for index, part in enumerate(np.array_split(np.arange(len(frame)), 3)):
        chunk = frame.iloc[part]
        path = folder / f"part-{index:05d}{suffix}"
        chunk.to_csv(path, index=False) if suffix == ".csv" else chunk.to_parquet(path, index=False)
    (folder / "_SUCCESS").touch()
    (folder / ".part-00000.crc").touch()
    return folder


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_a_folder_is_scored_as_its_files_in_name_order(
    classifier: Predictor, big: pd.DataFrame, tmp_path: Path, suffix: str
) -> None:
    source = _partitioned(big, tmp_path / "in", suffix)
    target = tmp_path / "scored.parquet"

    result = predict_file(classifier, source, target, chunk_size=500)

    assert (result.rows, result.chunks) == (len(big), 5)  # chunks span file boundaries
    assert count_rows(source) == (len(big) if suffix == ".parquet" else None)
    out = pd.read_parquet(target)
    pd.testing.assert_frame_equal(out[["x1", "x2", "n"]], big, check_exact=suffix == ".parquet")
    np.testing.assert_array_equal(out["prediction"].to_numpy(), classifier.predict(big))


def test_a_folder_of_nothing_or_of_two_formats_is_refused(
    classifier: Predictor, big: pd.DataFrame, tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "_SUCCESS").touch()
    with pytest.raises(InvalidInput, match=r"holds no \.parquet or \.csv files"):
        predict_file(classifier, empty, tmp_path / "out.parquet")
    mixed = _partitioned(big, tmp_path / "mixed", ".parquet")
    big.head(3).to_csv(mixed / "part-9.csv", index=False)
    with pytest.raises(InvalidInput, match="mixes Parquet and CSV"):
        predict_file(classifier, mixed, tmp_path / "out.parquet")
    (mixed / "part-9.csv").rename(mixed / "notes.txt")
    with pytest.raises(InvalidInput, match=r"notes.txt: unsupported file type '\.txt'"):
        predict_file(classifier, mixed, tmp_path / "out.parquet")
    assert not (tmp_path / "out.parquet").exists()


RAY_OWN_WARNINGS = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray")  # Ray's internals, not ours


@RAY_OWN_WARNINGS
def test_ray_executor_equals_local_scoring(
    local_ray: str, classifier: Predictor, big: pd.DataFrame, tmp_path: Path
) -> None:
    from modelyard.serving.batch_ray import predict_file_ray

    source = _partitioned(big, tmp_path / "in", ".parquet")  # a folder, as partitioned data arrives
    target = tmp_path / "scored.parquet"

    result = predict_file_ray(classifier, source, target, chunk_size=400, proba=True, workers=2)

    assert result.rows == len(big) and result.max_chunk_rows <= 400
    out = pd.read_parquet(target)
    pd.testing.assert_frame_equal(out[["x1", "x2", "n"]], big)
    np.testing.assert_array_equal(out["prediction"].to_numpy(), classifier.predict(big))
    np.testing.assert_allclose(out[["proba_0", "proba_1"]].to_numpy(), classifier.predict_proba(big))


@RAY_OWN_WARNINGS
def test_ray_executor_reports_signature_breaks(
    local_ray: str, regressor: Predictor, big: pd.DataFrame, tmp_path: Path
) -> None:
    from modelyard.serving.batch_ray import predict_file_ray

    source = tmp_path / "in.parquet"
    big.drop(columns=["n"]).to_parquet(source, index=False)
    with pytest.raises(InvalidInput, match="'n'"):
        predict_file_ray(regressor, source, tmp_path / "out.csv", chunk_size=500)
    assert list(tmp_path.iterdir()) == [source]
