"""``stack`` equals ``pd.concat(..., ignore_index=True)`` whichever path it takes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from modelyard.serving.protocols._frames import from_rows
from modelyard.serving.rows import frame_of
from modelyard.serving.stacking import stack


def test_one_block_frames_stack_to_what_concat_builds() -> None:
    rng = np.random.default_rng(0)
    parsed = [from_rows(rng.random((1 + i % 3, 4)).tolist(), ["a", "b", "c", "d"], what="x") for i in range(50)]
    frames = [frame_of(p) for p in parsed]  # the frames the protocols' rows become
    frames[7].iloc[0, 2] = np.nan
    stacked = stack(frames)
    expected = pd.concat(frames, ignore_index=True)
    pd.testing.assert_frame_equal(stacked, expected)
    assert stacked.to_numpy().flags["C_CONTIGUOUS"] == expected.to_numpy().flags["C_CONTIGUOUS"]


def test_mixed_frames_fall_back_to_concat() -> None:
    frames = [
        pd.DataFrame({"a": [1.0], "b": ["x"]}),
        pd.DataFrame({"a": [2.0], "b": ["y"]}),
        pd.DataFrame({"b": ["z"], "a": [3.0]}),  # other order
        pd.DataFrame({"a": [4], "b": ["w"]}),  # other dtype
    ]
    pd.testing.assert_frame_equal(stack(frames), pd.concat(frames, ignore_index=True))
    ints = [pd.DataFrame({"a": [1], "b": [2]}), pd.DataFrame({"a": [3.5], "b": [4.5]})]
    pd.testing.assert_frame_equal(stack(ints), pd.concat(ints, ignore_index=True))
    assert stack([]).empty
