"""The inference log's request side: answered requests appended to preallocated column arrays.

Tail latency: the log's writer thread used to turn thousands of request records into columns in
Python, holding the GIL for tens of milliseconds per segment while the event loop waited to
answer. Now an answered request whose inputs are ``Rows`` (an all-number body) and whose answer
is one number per row costs the event loop a few slice assignments into the arrays of an open
``ColumnBlock`` (one per deployment, hour, column set and dtypes), under a lock held for
microseconds. The writer takes whole blocks and turns each into a table with one pyarrow call per
column (``block_table``), then writes it with ``pq.write_table``, which releases the GIL.

Anything else (a failure, a frame from CSV or OIP, strings, multi-output answers) waits as a
record, as before, and the writer builds its table row by row (``log_tables.build_table``);
the two give the same columns, types and values for the same requests.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from modelyard.serving.requests_log import ServedRequest

HOUR_MS = 3_600_000
WIDE = {"i": np.dtype(np.int64), "u": np.dtype(np.int64), "f": np.dtype(np.float64), "b": np.dtype(np.bool_)}
"""Prediction dtypes as the log stores them (``.item()``'s widening): int64, float64, bool."""

BlockKey = tuple[str, int, tuple[str, ...], int, str]  # deployment, hour, columns, input float size, prediction kind
_KIND = {"i": "i", "u": "i", "f": "f", "b": "b"}  # prediction kinds by the dtype the log stores them in


def wide_prediction(prediction: Any, n: int) -> np.ndarray | None:
    """``prediction`` as one value per row of a plain numeric kind, or ``None``."""
    if not isinstance(prediction, np.ndarray):
        return None
    if prediction.ndim == 2 and prediction.shape[1] == 1:
        prediction = prediction[:, 0]
    kind = prediction.dtype.kind
    if prediction.ndim != 1 or len(prediction) != n or kind not in WIDE:
        return None
    if kind == "u" and prediction.dtype.itemsize == 8:
        return None  # uint64 past int64's range: the row-by-row path decides
    one_per_row: np.ndarray = prediction
    return one_per_row


def columnar(served: ServedRequest) -> tuple[BlockKey, np.ndarray, np.ndarray] | None:
    """The block key, input array and prediction of an answered request the columns take, else ``None``."""
    rows = served.rows
    if rows is None or served.failed:
        return None
    values = rows.values
    if values.dtype.kind != "f" or values.ndim != 2 or not len(values):
        return None
    prediction = wide_prediction(served.prediction, len(values))
    if prediction is None:
        return None
    kind = _KIND[prediction.dtype.kind]
    return (served.deployment, served.time_ms // HOUR_MS, rows.columns, values.dtype.itemsize, kind), values, prediction


class ColumnBlock:
    """Up to ``capacity`` answered rows of one ``BlockKey``, in arrival order, as arrays.

    Rows go into preallocated arrays (inputs, predictions: one slice assignment each); the
    request-level values into plain lists (an append is cheaper than a NumPy item assignment),
    turned into arrays by the writer in one C call each.
    """

    def __init__(self, key: BlockKey, capacity: int) -> None:
        self.key = key
        self.deployment, _, self.columns, input_size, prediction_kind = key
        self.inputs = np.empty((capacity, len(self.columns)), np.dtype(f"f{input_size}"))
        self.prediction = np.empty(capacity, WIDE[prediction_kind])
        self.counts: list[int] = []  # rows per request
        self.time_ms: list[int] = []
        self.latency_ms: list[float] = []
        self.variant: list[int] = []  # index into ``variants``
        self.variants: list[tuple[str, str]] = []  # (variant, model version): a few per block
        self._codes: dict[tuple[str, str], int] = {}
        self.request_ids: list[str] = []
        self.rows = 0
        self.capacity = capacity

    @property
    def requests(self) -> int:
        return len(self.counts)

    def fits(self, n: int) -> bool:
        return self.rows + n <= self.capacity

    def append(self, served: ServedRequest, values: np.ndarray, prediction: np.ndarray) -> None:
        r, n = self.rows, len(values)
        self.inputs[r : r + n] = values
        self.prediction[r : r + n] = prediction
        self.rows = r + n
        self.counts.append(n)
        self.time_ms.append(served.time_ms)
        self.latency_ms.append(served.latency_ms)
        pair = (served.variant, served.model_version)
        code = self._codes.get(pair)
        if code is None:
            code = self._codes[pair] = len(self.variants)
            self.variants.append(pair)
        self.variant.append(code)
        self.request_ids.append(served.request_id)

    @property
    def start_ms(self) -> int:
        return min(self.time_ms)

    @property
    def end_ms(self) -> int:
        return max(self.time_ms)

    def row_requests(self) -> np.ndarray | None:
        """Each row's request (by position in the block); ``None`` when every request has one row."""
        if self.rows == len(self.counts):
            return None
        return np.repeat(np.arange(len(self.counts), dtype=np.int32), self.counts)

    def row_variants(self) -> np.ndarray:
        """Each row's index into ``variants``."""
        codes = np.array(self.variant, np.int32)
        index = self.row_requests()
        return codes if index is None else codes[index]

    def input_rows(self) -> np.ndarray:
        """The block's inputs, one row per logged row (C order, as a stacked frame gives them)."""
        return self.inputs[: self.rows]


def block_table(block: ColumnBlock, probabilities: Sequence[tuple[np.ndarray, np.ndarray]]) -> pa.Table:
    """The Parquet table of ``block`` in the log's schema (``log_tables.build_table``'s, value for value).

    ``probabilities`` holds ``(row mask, class probabilities of those rows)`` per variant that has
    them. One pyarrow call per column on NumPy arrays: the writer holds the GIL for microseconds.
    """
    n = block.rows
    index = block.row_requests()
    take = None if index is None else pa.array(index)

    def per_request(array: pa.Array) -> pa.Array:
        return array if take is None else array.take(take)

    if index is None:
        rows = np.zeros(n, np.int32)
    else:  # position within the request: the row's number minus its request's first row
        counts = np.array(block.counts, np.int64)
        rows = (np.arange(n) - np.repeat(np.cumsum(counts) - counts, counts)).astype(np.int32)
    variants = pa.array(np.array(block.variant, np.int32))
    columns: dict[str, pa.Array] = {
        "request_id": per_request(pa.array(block.request_ids, pa.string())),
        "row": pa.array(rows, pa.int32()),
        "time_ms": per_request(pa.array(np.array(block.time_ms, np.int64), pa.int64())),
        "deployment": pa.array([block.deployment], pa.string()).take(pa.array(np.zeros(n, np.int32))),
        "variant": per_request(pa.array([v for v, _ in block.variants], pa.string()).take(variants)),
        "model_version": per_request(pa.array([m for _, m in block.variants], pa.string()).take(variants)),
    }
    by_column = np.ascontiguousarray(block.input_rows().T)
    for position, name in enumerate(block.columns):
        columns[f"input.{name}"] = pa.array(by_column[position], from_pandas=True)  # NaN is null, as from a frame
    columns["prediction"] = pa.array(block.prediction[:n], from_pandas=True)
    columns["probability"] = _probability_column(probabilities, n)
    columns["latency_ms"] = per_request(pa.array(np.array(block.latency_ms, np.float64), pa.float64()))
    columns["status"] = pa.array(np.full(n, 200, np.int32), pa.int32())
    columns["error"] = pa.nulls(n, pa.string())
    return pa.table(columns)


def _probability_column(probabilities: Sequence[tuple[np.ndarray, np.ndarray]], n: int) -> pa.Array:
    """``list<double>`` per row, null where the answering variant has no probabilities."""
    kind = pa.list_(pa.float64())
    if not probabilities:
        return pa.nulls(n, kind)
    widths = {proba.shape[1] if proba.ndim == 2 else -1 for _, proba in probabilities}
    width = widths.pop()
    if widths or width <= 0:  # variants with other class counts: row by row
        rows: list[list[float] | None] = [None] * n
        for mask, proba in probabilities:
            for position, values in zip(np.flatnonzero(mask), proba, strict=True):
                rows[position] = list(map(float, np.atleast_1d(values)))
        return pa.array(rows, kind)
    flat = np.zeros((n, width), np.float64)
    known = np.zeros(n, np.bool_)
    for mask, proba in probabilities:
        flat[mask] = proba
        known |= mask
    offsets = pa.array(np.arange(0, n * width + 1, width, dtype=np.int32))
    values = pa.array(flat.reshape(-1), pa.float64())
    if known.all():
        return pa.ListArray.from_arrays(offsets, values)
    return pa.ListArray.from_arrays(offsets, values, mask=pa.array(~known))


Item = ServedRequest | ColumnBlock


def count(items: Sequence[Item]) -> int:
    """How many requests ``items`` hold."""
    return sum(item.requests if isinstance(item, ColumnBlock) else 1 for item in items)


class ColumnQueue:
    """The inference log's bounded queue: ``QueueRequestLogger``'s contract, counted in requests.

    ``record`` appends an answered request with rows to its open block (a new block joins the
    queue where the request arrived), and any other request as a record; past ``maxsize``
    waiting requests it drops and counts. ``drain`` takes items oldest first and closes the blocks
    it takes (later requests open new ones), so the writer drains when it is time to write, not as
    requests arrive: ``wait`` wakes it when the first request arrives (it starts its flush clock,
    ``oldest``), when ``wake_at`` requests wait, or on ``wake``, never once per request.
    """

    def __init__(self, maxsize: int, block_rows: int) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize = maxsize
        self.wake_at = block_rows
        self._block_rows = block_rows
        self._items: collections.deque[Item] = collections.deque()
        self._open: dict[BlockKey, ColumnBlock] = {}
        self._lock = threading.Lock()
        self._signal = threading.Event()
        self._waiting = 0
        self._dropped = 0
        self._accepted = 0
        self.oldest = 0.0  # time.monotonic() when the oldest waiting request arrived

    def record(self, served: ServedRequest) -> bool:
        fast = columnar(served)
        with self._lock:
            if self._waiting >= self.maxsize:
                self._dropped += 1
                return False
            if fast is None:
                self._items.append(served)
            else:
                key, values, prediction = fast
                block = self._open.get(key)
                if block is None or not block.fits(len(values)):
                    block = ColumnBlock(key, max(self._block_rows, len(values)))
                    self._open[key] = block
                    self._items.append(block)
                block.append(served, values, prediction)
            self._waiting += 1
            self._accepted += 1
            first = self._waiting == 1
            if first:
                self.oldest = time.monotonic()
            signal = first or self._waiting == self.wake_at
        if signal:
            self._signal.set()
        return True

    def drain(self, max_requests: int | None = None) -> list[Item]:
        """Remove and return waiting items, oldest first, until ``max_requests`` requests (all by default)."""
        taken = 0
        out: list[Item] = []
        with self._lock:
            while self._items and (max_requests is None or taken < max_requests):
                item = self._items.popleft()
                if isinstance(item, ColumnBlock):
                    if self._open.get(item.key) is item:
                        del self._open[item.key]
                    taken += item.requests
                else:
                    taken += 1
                out.append(item)
            self._waiting -= taken
            if self._waiting:
                self.oldest = time.monotonic()
        return out

    def wake(self) -> None:
        """Wake a consumer sleeping in ``wait`` (a flush wants it to look again)."""
        self._signal.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Sleep until the first request arrives, ``wake_at`` wait, ``wake`` is called or ``timeout`` passes."""
        woken = self._signal.wait(timeout)
        self._signal.clear()  # the caller looks at the queue next: a signal lost here is seen there
        return woken

    def __len__(self) -> int:
        return self._waiting

    @property
    def dropped(self) -> int:
        return self._dropped

    @property
    def accepted(self) -> int:
        return self._accepted
