"""The background writer: batches by size and by time, drains on flush/close, never loses a metric."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable, Sequence

import pytest

from modelyard.domain.tracking import Metric
from modelyard.sdk.writer import BackgroundWriter


class Sink:
    """Records the batches written; can be told to fail for a while (a store that is down)."""

    def __init__(self) -> None:
        self.batches: list[tuple[str, list[Metric]]] = []
        self.beats: list[list[str]] = []
        self.failing = False
        self.lock = threading.Lock()

    def write(self, run_id: str, metrics: Sequence[Metric]) -> None:
        if self.failing:
            raise ConnectionError("store unreachable")
        with self.lock:
            self.batches.append((run_id, list(metrics)))

    def beat(self, run_ids: Sequence[str]) -> None:
        with self.lock:
            self.beats.append(list(run_ids))

    def values(self, run_id: str) -> list[float]:
        with self.lock:
            return [m.value for rid, batch in self.batches if rid == run_id for m in batch]


def _metric(i: int) -> Metric:
    return Metric(key="m", value=float(i), timestamp=i, step=i)


def _eventually(condition: Callable[[], bool], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.01)


@pytest.fixture
def sink() -> Sink:
    return Sink()


def _writer(sink: Sink, **kwargs: float) -> BackgroundWriter:
    options: dict[str, float] = {"batch_size": 1000, "flush_interval_s": 3600.0, "heartbeat_interval_s": 3600.0}
    options.update(kwargs)
    return BackgroundWriter(sink.write, sink.beat, **options)  # type: ignore[arg-type]


def test_nothing_is_written_until_a_bound_is_reached(sink: Sink) -> None:
    writer = _writer(sink)
    for i in range(10):
        writer.add("r", _metric(i))
    time.sleep(0.05)
    assert sink.batches == []
    writer.flush()
    assert sink.values("r") == [float(i) for i in range(10)]
    writer.close()


def test_a_full_batch_is_written_in_the_background(sink: Sink) -> None:
    writer = _writer(sink, batch_size=100)
    for i in range(100):
        writer.add("r", _metric(i))
    _eventually(lambda: len(sink.values("r")) == 100)
    assert sink.batches[0][0] == "r"
    writer.close()


def test_the_time_bound_writes_a_partial_batch(sink: Sink) -> None:
    writer = _writer(sink, flush_interval_s=0.02)
    writer.add_many("r", [_metric(1), _metric(2)])
    _eventually(lambda: sink.values("r") == [1.0, 2.0])
    writer.close()


def test_flush_of_one_run_leaves_the_others_pending(sink: Sink) -> None:
    writer = _writer(sink)
    writer.add("a", _metric(1))
    writer.add("b", _metric(2))
    writer.flush("a")
    assert sink.values("a") == [1.0] and sink.values("b") == []
    writer.close()
    assert sink.values("b") == [2.0]


def test_a_failed_write_is_kept_and_retried_in_order(sink: Sink) -> None:
    writer = _writer(sink)
    writer.add("r", _metric(1))
    sink.failing = True
    with pytest.raises(ConnectionError):
        writer.flush()
    writer.add("r", _metric(2))
    sink.failing = False
    writer.flush()
    assert sink.values("r") == [1.0, 2.0]
    writer.close()


def test_background_failures_are_retried_without_raising(sink: Sink, caplog: pytest.LogCaptureFixture) -> None:
    sink.failing = True
    writer = _writer(sink, flush_interval_s=0.01)
    writer.add("r", _metric(1))
    time.sleep(0.1)
    sink.failing = False
    _eventually(lambda: sink.values("r") == [1.0])
    assert "will retry" in caplog.text
    writer.close()


def test_close_drains_everything(sink: Sink) -> None:
    writer = _writer(sink)
    for i in range(2500):
        writer.add(f"r{i % 3}", _metric(i))
    writer.close()
    assert sorted(v for r in ("r0", "r1", "r2") for v in sink.values(r)) == [float(i) for i in range(2500)]


def test_many_threads_logging_at_once_lose_nothing(sink: Sink) -> None:
    writer = _writer(sink, batch_size=50, flush_interval_s=0.005)

    def log(offset: int) -> None:
        for i in range(500):
            writer.add("r", _metric(offset + i))

    threads = [threading.Thread(target=log, args=(n * 1000,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.close()
    values = sink.values("r")
    assert sorted(values) == sorted(float(n * 1000 + i) for n in range(4) for i in range(500))
    for n in range(4):  # each thread's own metrics keep their order
        mine = [v for v in values if n * 1000 <= v < (n + 1) * 1000]
        assert mine == sorted(mine)


def test_watched_runs_get_heartbeats(sink: Sink) -> None:
    writer = _writer(sink, heartbeat_interval_s=0.01, flush_interval_s=0.01)
    writer.watch("a")
    writer.watch("b")
    _eventually(lambda: any(beat == ["a", "b"] for beat in sink.beats))
    writer.unwatch("a")
    seen = len(sink.beats)
    _eventually(lambda: any(beat == ["b"] for beat in sink.beats[seen:]))
    writer.close()


def _close_in_child(writer: BackgroundWriter, sink: Sink, results: object) -> None:
    writer.close()
    results.put(len(sink.batches))  # type: ignore[attr-defined]


def test_a_forked_child_does_not_write_its_parents_metrics_again(sink: Sink) -> None:
    writer = _writer(sink)
    writer.add("r", _metric(1))
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    child = context.Process(target=_close_in_child, args=(writer, sink, results))
    child.start()
    assert results.get(timeout=60) == 0
    child.join(timeout=30)
    writer.close()
    assert sink.values("r") == [1.0]


def test_the_buffer_is_bounded_a_caller_that_far_ahead_waits_for_the_store(sink: Sink) -> None:
    """Back-pressure, never silent loss: with the store down, the call that fills the buffer waits
    until the store takes batches again, then every value is stored."""
    sink.failing = True
    writer = BackgroundWriter(
        sink.write, sink.beat, batch_size=10, flush_interval_s=0.01, heartbeat_interval_s=3600.0, max_pending=20
    )
    try:
        for i in range(19):
            writer.add("r", _metric(i))
        blocked = threading.Thread(target=writer.add, args=("r", _metric(19)))
        blocked.start()
        blocked.join(0.5)
        assert blocked.is_alive()  # the store is down: it cannot have made room
        assert writer.pending == 20
        sink.failing = False
        blocked.join(30)
        assert not blocked.is_alive()
        writer.flush()
        assert sorted(sink.values("r")) == [float(i) for i in range(20)]
    finally:
        sink.failing = False
        writer.close()
