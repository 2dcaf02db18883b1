"""The inference log's column blocks: the same table as the record path, and the queue's contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from modelyard.serving import ServedRequest
from modelyard.serving.inference_log import build_table
from modelyard.serving.log_columns import ColumnBlock, ColumnQueue, block_table
from modelyard.serving.rows import Rows

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
COLUMNS = ("amount", "age")


def _served(rid: str, values: list[list[float]], prediction: np.ndarray, variant: str = "blue") -> ServedRequest:
    return ServedRequest(
        request_id=rid,
        time_ms=T0 + len(rid),
        deployment="fraud",
        variant=variant,
        model_version=f"fraud/{1 if variant == 'blue' else 2}",
        inputs=Rows(np.array(values, dtype=np.float64), COLUMNS),
        prediction=prediction,
        latency_ms=1.25 * len(rid),
    )


def _block(records: list[ServedRequest]) -> ColumnBlock:
    queue = ColumnQueue(100, 1_000)
    for record in records:
        assert queue.record(record)
    (block,) = queue.drain()
    assert isinstance(block, ColumnBlock)
    return block


def test_a_block_writes_what_the_record_path_writes() -> None:
    records = [
        _served("a", [[1.0, 30.0]], np.array([1], dtype=np.int32)),
        _served("bb", [[2.0, np.nan], [3.5, 41.0], [4.0, 52.0]], np.array([0, 1, 1])),  # NaN: null, as from a frame
        _served("ccc", [[5.0, 60.0]], np.array([[0]]), variant="green"),
        _served("dddd", [[6.0, 70.0], [7.0, 80.0]], np.array([1, 0], dtype=np.uint8)),
    ]
    rng = np.random.default_rng(0)
    per_record = [rng.random((len(r.rows or ()), 2)) if r.variant == "blue" else None for r in records]
    block = _block(records)
    blue = block.row_variants() == block.variants.index(("blue", "fraud/1"))
    got = block_table(block, [(blue, np.concatenate([p for p in per_record if p is not None]))])

    expected = build_table(records, per_record)
    assert got.schema == expected.schema
    assert got.equals(expected)
    assert got.column("input.age").null_count == 1
    assert got.column("probability").null_count == 1  # the green request's row
    assert got.column("request_id").to_pylist() == ["a", "bb", "bb", "bb", "ccc", "dddd", "dddd"]
    assert got.column("row").to_pylist() == [0, 0, 1, 2, 0, 0, 1]


def test_float_answers_and_no_probabilities() -> None:
    records = [_served("a", [[1.0, 2.0]], np.array([0.5])), _served("b", [[3.0, 4.0]], np.array([np.nan]))]
    got = block_table(_block(records), [])
    expected = build_table(records, [None, None])
    assert got.equals(expected)
    assert got.column("prediction").to_pylist() == [0.5, None]
    assert got.column("probability").type == pa.list_(pa.float64())


def test_what_the_columns_do_not_take_waits_as_a_record() -> None:
    queue = ColumnQueue(100, 1_000)
    frame_input = ServedRequest(
        request_id="csv", time_ms=T0, deployment="fraud", variant="blue", model_version="fraud/1",
        inputs=pd.DataFrame({"amount": [1.0], "age": [2.0]}), prediction=np.array([1]), latency_ms=1.0,
    )  # fmt: skip
    strings = _served("labels", [[1.0, 2.0]], np.array(["yes"]))
    failed = ServedRequest(
        request_id="bad", time_ms=T0, deployment="fraud", variant="blue", model_version="fraud/1",
        inputs=Rows(np.array([[np.nan, 1.0]]), COLUMNS), prediction=None, latency_ms=1.0,
        status=422, error="invalid_input",
    )  # fmt: skip
    for record in (frame_input, strings, failed):
        queue.record(record)
    assert queue.drain() == [frame_input, strings, failed]


def test_the_queue_counts_requests_and_closes_blocks_it_hands_out() -> None:
    queue = ColumnQueue(3, 2)
    answers = [queue.record(_served(f"r{i}", [[float(i), 1.0]], np.array([i]))) for i in range(4)]
    assert answers == [True, True, True, False] and queue.dropped == 1 and len(queue) == 3
    first = queue.drain(1)  # a whole block: two requests
    assert [b.requests for b in first] == [2] and len(queue) == 1  # type: ignore[union-attr]
    queue.record(_served("r4", [[4.0, 1.0]], np.array([4])))  # joins the open block
    (second,) = queue.drain()
    assert isinstance(second, ColumnBlock) and second.request_ids == ["r2", "r4"]
    queue.record(_served("r5", [[5.0, 1.0]], np.array([5])))  # a drained block is closed: a new one
    (third,) = queue.drain()
    assert third is not second and queue.accepted == 5 and len(queue) == 0
