"""The canonical form: same content, same digest; any documented difference, another digest."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from modelyard.data import canonicalize, content_digest
from modelyard.data.digests import parquet_to_frame, read_source
from modelyard.errors import InvalidInput, NotFound


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "x": [1.5, None, 3.25, -7.0],
            "n": [1, 2, 3, 4],
            "c": ["a", "b", None, "a"],
            "t": pd.to_datetime(["2024-01-01", None, "2024-03-01", "2024-04-01"], utc=True),
        }
    )


def test_the_digest_is_the_sha256_of_the_stored_bytes() -> None:
    import hashlib

    canonical = canonicalize(_frame())
    assert canonical.digest == hashlib.sha256(canonical.parquet).hexdigest()
    assert len(canonical.digest) == 64


def test_same_content_built_differently_gives_the_same_digest() -> None:
    frame = _frame()
    rebuilt = pd.concat([frame.iloc[:2], frame.iloc[2:]])  # other index, other blocks
    chunked = pa.concat_tables([canonicalize(frame.iloc[:1]).table, canonicalize(frame.iloc[1:]).table])
    assert chunked.column("x").num_chunks == 2
    assert content_digest(frame) == content_digest(frame.copy())
    assert content_digest(frame) == content_digest(rebuilt)
    assert content_digest(frame) == content_digest(frame.set_index(pd.Index([9, 8, 7, 6])))
    assert content_digest(frame) == content_digest(chunked)


def test_the_digest_is_the_same_in_another_process() -> None:
    code = (
        "import pandas as pd\n"
        "from modelyard.data import content_digest\n"
        "f = pd.DataFrame({'x': [1.5, None, 3.25, -7.0], 'n': [1, 2, 3, 4], 'c': ['a', 'b', None, 'a'],"
        " 't': pd.to_datetime(['2024-01-01', None, '2024-03-01', '2024-04-01'], utc=True)})\n"
        "print(content_digest(f))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == content_digest(_frame())


@pytest.mark.parametrize(
    "change",
    [
        lambda f: f[["n", "x", "c", "t"]],  # column order
        lambda f: f.iloc[::-1],  # row order
        lambda f: f.assign(n=f["n"].astype("float64")),  # type
        lambda f: f.assign(x=[1.5, None, 3.25, -7.000001]),  # one value
        lambda f: f.rename(columns={"x": "y"}),  # a name
        lambda f: f.iloc[:3],  # a row fewer
    ],
    ids=["column-order", "row-order", "dtype", "value", "name", "rows"],
)
def test_every_documented_difference_changes_the_digest(change) -> None:  # type: ignore[no-untyped-def]
    assert content_digest(change(_frame())) != content_digest(_frame())


def test_stored_bytes_load_back_to_the_same_frame() -> None:
    frame = _frame()
    loaded = parquet_to_frame(canonicalize(frame).parquet)
    pd.testing.assert_frame_equal(loaded, frame)
    assert content_digest(loaded) == content_digest(frame)


def test_a_csv_and_a_parquet_file_are_read(tmp_path) -> None:  # type: ignore[no-untyped-def]
    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    frame.to_csv(tmp_path / "d.csv", index=False)
    frame.to_parquet(tmp_path / "d.parquet", index=False)
    assert content_digest(read_source(tmp_path / "d.csv")) == content_digest(frame)
    assert content_digest(read_source(tmp_path / "d.parquet")) == content_digest(frame)
    with pytest.raises(NotFound):
        read_source(tmp_path / "missing.csv")
    (tmp_path / "d.json").write_text("{}")
    with pytest.raises(InvalidInput, match=r"\.csv"):
        read_source(tmp_path / "d.json")


def test_bad_frames_are_refused_with_the_reason() -> None:
    with pytest.raises(InvalidInput, match="repeated: a"):
        canonicalize(pd.DataFrame([[1, 2]], columns=["a", "a"]))
    with pytest.raises(InvalidInput, match="at least one column"):
        canonicalize(pd.DataFrame())
    with pytest.raises(InvalidInput, match="multi-level"):
        canonicalize(pd.DataFrame(np.zeros((1, 2)), columns=pd.MultiIndex.from_tuples([("a", "b"), ("a", "c")])))
    with pytest.raises(InvalidInput, match="not list"):
        canonicalize([1, 2, 3])  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="cannot be stored"):
        canonicalize(pd.DataFrame({"m": [1, "x", 2.5]}))
