"""Many small request frames as one, without ``pd.concat`` when they share one numeric block.

The inference log's writer and the shadow runner gather thousands of one-row frames. ``pd.concat``
aligns their indexes and columns in Python, tens of microseconds per frame with the GIL held, and
that time is taken from the event loop answering requests. Frames a protocol built from JSON
numbers (one float64 block, the same columns in the same order) stack with one
``np.concatenate`` instead, whose copy runs without the GIL; the result equals ``pd.concat(...,
ignore_index=True)`` (same columns, dtype and values). Anything else takes ``pd.concat``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def stack(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """``pd.concat(frames, ignore_index=True)``, by one array copy when every frame allows it."""
    if not frames:
        return pd.DataFrame()
    if len(frames) == 1:
        return frames[0].reset_index(drop=True)
    blocks = _blocks(frames)
    if blocks is None:
        return pd.concat(frames, ignore_index=True)
    rows = np.concatenate([block.T for block in blocks])  # row-major, as pd.concat lays it out
    return pd.DataFrame(rows, columns=frames[0].columns, copy=False)


def _blocks(frames: Sequence[pd.DataFrame]) -> list[np.ndarray] | None:
    """Each frame's values, columns first, when all share one plain numeric dtype and the first
    frame's columns; ``None`` otherwise.

    Reads pandas' block manager (``_mgr.blocks``): a frame built from one array is one block whose
    values are the columns-first array, a view taken in a fraction of ``to_numpy``'s time. A frame
    whose block lists its columns out of order, or a pandas without blocks, gets ``None``.
    """
    first = frames[0].columns
    labels = first._data
    width = len(first)
    in_order = slice(0, width, 1)
    dtype: np.dtype[np.generic] | None = None
    out: list[np.ndarray] = []
    for frame in frames:
        blocks = getattr(getattr(frame, "_mgr", None), "blocks", None)
        if blocks is None or len(blocks) != 1:
            return None
        columns = frame.columns
        if columns._data is not labels and not columns.equals(first):
            return None
        block = blocks[0]
        values = block.values
        if not isinstance(values, np.ndarray) or values.ndim != 2 or values.dtype.kind not in "fiub":
            return None
        if dtype is None:
            dtype = values.dtype
        elif values.dtype != dtype:
            return None
        locs = block.mgr_locs
        if not (locs.is_slice_like and locs.as_slice == in_order):
            return None
        out.append(values)
    return out
