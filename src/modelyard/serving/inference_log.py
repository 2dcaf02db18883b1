"""The inference log: served and failed requests (sampled) written as Parquet segments a monitor reads by window.

Layout, the contract ``InferenceLogReader`` and the monitoring context rely on::

    <artifact root>/inference/<deployment>/<yyyy-mm-dd>/<HH>/<segment-uuid>.parquet

- A segment holds rows of one deployment whose ``time_ms`` fall in one UTC hour (the folder's),
  written at once and atomically (a reader never sees half a file), by one server process: with
  ``--workers N`` each worker writes its own segments. Every segment is indexed in the store
  table ``inference_segments`` (deployment, start_ms, end_ms, row_count, uri), so a window is found
  with one indexed query, never by listing a bucket.
- One Parquet row per *input row* (a request with 10 rows gives 10 log rows). Columns, in order:

  ==================  =========================================================================
  ``request_id``      string: the id returned to the caller (``x-request-id``); feedback joins on it
  ``row``             int32: position of the row within its request
  ``time_ms``         int64: epoch milliseconds (UTC) when the answer (or the error) was sent
  ``deployment``      string
  ``variant``         string: the variant that answered (never a shadow); empty when the request
                      failed before a variant was chosen (an unreadable body)
  ``model_version``   string: ``<model>/<version>`` (empty like ``variant``)
  ``input.<name>``    one column per input feature, as the request sent it (the model's signature
                      types after JSON decoding); a canary with other features adds its own columns
                      and leaves the others null
  ``prediction``      the model's answer for the row: a scalar (int64, float64, string, bool), or a
                      list for multi-output models; null for a failed request
  ``probability``     list<double>: class probabilities when the answering model has
                      ``predict_proba`` (computed by the writer, off the request path), else null
  ``latency_ms``      float64: the request's time from arrival to answer (same for its rows)
  ``status``          int32: the HTTP status the caller got (200 when answered)
  ``error``           string: null when answered, else the failure's kind: ``invalid_input``
                      (a 4xx: the request was wrong), ``timeout``, or the exception's class for
                      a server error (``ValueError`` when the model raised one)
  ``attribution.*``   float64: SHAP attributions and ``attribution_base`` of the sample of
                      answered requests a deployment's ``explain_sample`` asks for, null for the
                      others; absent from segments without one (``attribution_log``)
  ==================  =========================================================================

- Failed requests are logged (and sampled) like answered ones, one row per parsed input row, or
  one row with null inputs when the body never became a frame. Caller errors (4xx: malformed
  JSON, a column breaking the signature, an oversized body) are logged on purpose: they are the
  data-quality signal of the traffic (``invalid_rate`` of a monitor), while only server errors
  (5xx) are the model's (``error_rate``). A request for a deployment the server does not serve is
  not logged. Failed requests go to segments of their own (never mixed with answered ones), so a
  string sent where a number belongs cannot change the type of the answered requests' columns.
- Segments written before ``status``/``error`` existed have neither column: every request in them
  was answered (the reader returns the columns as nulls; a monitor then falls back to counting
  null predictions as errors).
- Shadows are not in this log: their answers and failures are the shadow runner's, not the
  caller's, so a failing shadow never shows as the deployment's error.

- Rows keep arrival order within a segment; a window's segments come oldest first, so a window
  is ordered per segment, not globally.

Writing never blocks a request: ``ParquetRequestLogger.record`` samples (``sample`` in 0..1) and
hands the record to a bounded queue (``log_columns.ColumnQueue``: an answered all-number request
is a few values appended to preallocated column arrays, anything else waits as a record); a full
queue refuses it, and the server counts the refusal in ``modelyard_request_log_dropped_total``. A
writer thread drains the queue in batches and writes a segment when ``batch_rows`` requests are
waiting or ``flush_interval_s`` after the first one arrived. ``flush`` writes everything queued
so far at once and returns when it is in the store and indexed (a test, a demo or a notebook
reads the log right after its traffic: the server queues a request's record before its response
goes out). ``close`` (the server's
shutdown) writes everything still queued before returning, so a normal stop loses nothing.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from urllib.parse import quote

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from modelyard.clock import SYSTEM_CLOCK, Clock
from modelyard.domain.inference import InferenceSegment
from modelyard.errors import BackendUnavailable, InvalidInput, NotFound
from modelyard.serving.attribution_log import AttributionSampler, with_attributions
from modelyard.serving.explainers import ExplainerCache
from modelyard.serving.log_columns import ColumnBlock, ColumnQueue, Item, block_table, count
from modelyard.serving.log_tables import INPUT_PREFIX, build_table, row_counts
from modelyard.serving.plan import PlanHolder
from modelyard.serving.requests_log import ServedRequest
from modelyard.serving.rows import Rows
from modelyard.serving.stacking import stack
from modelyard.store.artifacts import ArtifactStore
from modelyard.store.db import Database
from modelyard.store.repos import inference_segments as segment_rows

logger = logging.getLogger(__name__)

LOG_FOLDER = "inference"
FIXED_COLUMNS = ("request_id", "row", "time_ms", "deployment", "variant", "model_version")
OUTPUT_COLUMNS = ("prediction", "probability", "latency_ms", "status", "error")
_HOUR_MS = 3_600_000
_WAKE_S = 0.25  # longest the writer sleeps before looking at the stop flag again


def segment_path(deployment: str, time_ms: int, segment_id: str) -> str:
    """The path of a segment below the artifact root (see the module docstring)."""
    when = datetime.fromtimestamp(time_ms / 1000, tz=UTC)
    return f"{LOG_FOLDER}/{quote(deployment, safe='')}/{when:%Y-%m-%d}/{when:%H}/{segment_id}.parquet"


def features(frame: pd.DataFrame) -> pd.DataFrame:
    """The ``input.<name>`` columns of a log frame, under their feature names."""
    cols = [c for c in frame.columns if str(c).startswith(INPUT_PREFIX)]
    return frame[cols].rename(columns=lambda c: str(c)[len(INPUT_PREFIX) :])


class ParquetRequestLogger:
    """A ``RequestLogger`` writing sampled served requests to the inference log.

    Start it with ``start`` (the app's lifespan does) and stop it with ``close``. ``holder``, when
    given, lets the writer add class probabilities from the variant's model.
    """

    def __init__(
        self,
        db: Database,
        store: ArtifactStore,
        *,
        sample: float = 1.0,
        queue_size: int = 10_000,
        batch_rows: int = 5_000,
        flush_interval_s: float = 1.0,
        holder: PlanHolder | None = None,
        clock: Clock = SYSTEM_CLOCK,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if not 0.0 <= sample <= 1.0:
            raise InvalidInput(f"the inference log sample rate must be within 0-1, got {sample}")
        if batch_rows < 1:
            raise InvalidInput(f"batch_rows must be at least 1, got {batch_rows}")
        if flush_interval_s <= 0:
            raise InvalidInput(f"flush_interval_s must be positive, got {flush_interval_s}")
        self.queue = ColumnQueue(queue_size, batch_rows)
        self._db = db
        self._store = store
        self._sample = sample
        self._batch_rows = batch_rows
        self._interval = flush_interval_s
        self._holder = holder
        self._clock = clock
        self._rng = rng
        self._stop = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._progress = threading.Condition()
        self._handled = 0  # records taken from the queue and written (or counted as failed), in order
        self._flush_target = 0  # the writer writes at once until ``_handled`` reaches this
        self.sampled_out = 0
        self.written_rows = 0
        self.failed_records = 0
        self.unwritable_records = 0
        self.segments_written = 0
        self.attributions: AttributionSampler | None = None

    # -- the request side: never blocks, never raises ----------------------------------------------

    def record(self, served: ServedRequest) -> bool:
        """Queue ``served`` (or skip it by sampling); ``False`` only when it had to be dropped."""
        if self._closed:
            return False
        if self._sample < 1.0 and self._rng() >= self._sample:
            self.sampled_out += 1
            return True
        return self.queue.record(served)

    @property
    def dropped(self) -> int:
        """Records refused because the queue was full."""
        return self.queue.dropped

    def log_attributions(
        self,
        explainers: ExplainerCache,
        *,
        on_dropped: Callable[[str, int], None] | None = None,
        rng: Callable[[], float] = random.random,
    ) -> AttributionSampler:
        """Add attributions of deployments' ``explain_sample`` share of requests (``attribution_log``)."""
        if self._holder is None:
            raise InvalidInput("logging attributions needs the plan holder the server serves from")
        self.attributions = AttributionSampler(self._holder, explainers, rng=rng, on_dropped=on_dropped)
        return self.attributions

    def _behind(self) -> bool:
        """A whole segment's worth of requests waits behind the one being written."""
        return len(self.queue) >= self._batch_rows

    # -- the writer thread ------------------------------------------------------------------------

    def start(self) -> None:
        """Start the writer thread (in the process that serves: call it after any fork)."""
        with self._lock:
            if self._thread is not None:
                return
            self._closed = False
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="modelyard-inference-log", daemon=True)
            self._thread.start()

    def flush(self, timeout: float = 30.0) -> None:
        """Write every record queued before this call; return once they are in the store and indexed.

        Doesn't wait for the flush interval, and doesn't stop the writer. ``BackendUnavailable``
        when the writer did not get there within ``timeout`` seconds, or when a segment could not
        be written (the records are counted in ``failed_records``, as the writer always does).
        """
        failed_before = self.failed_records
        target = self.queue.accepted
        with self._lock:
            running = self._thread is not None
            if not running:  # never started (or closed): write here, as ``close`` does
                self._write_drained(self.queue.drain())
        if running:
            with self._progress:
                self._flush_target = max(self._flush_target, target)
            self.queue.wake()
            with self._progress:
                done = self._progress.wait_for(lambda: self._handled >= target, timeout)
            if not done:
                raise BackendUnavailable(
                    f"the inference log writer did not write {target - self._handled} queued request(s) "
                    f"within {timeout:g} s"
                )
        failed = self.failed_records - failed_before
        if failed:
            raise BackendUnavailable(f"{failed} inference log record(s) could not be written (see the server log)")

    def close(self, timeout: float = 60.0) -> None:
        """Refuse new records, write every queued one, stop the writer. Safe to call twice."""
        with self._lock:
            self._closed = True
            self._stop.set()
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
        else:  # never started: still keep what was queued
            self._write_drained(self.queue.drain())

    def _run(self) -> None:
        """Write when ``batch_rows`` requests wait, ``flush_interval_s`` after the oldest arrived,
        on a flush or on stopping; between, requests accumulate in the queue's column blocks and
        the writer sleeps (it is woken by the queue, not once per request)."""
        queue = self.queue
        while True:
            stopping = self._stop.is_set()
            flushing = self._handled < self._flush_target
            waiting = len(queue)
            due = queue.oldest + self._interval
            if waiting and (waiting >= self._batch_rows or stopping or flushing or time.monotonic() >= due):
                self._write_drained(queue.drain(self._batch_rows))
                continue
            if stopping:
                return
            wait = _WAKE_S if not waiting else max(0.0, min(_WAKE_S, due - time.monotonic()))
            queue.wait(wait)

    def _write_drained(self, items: Sequence[Item]) -> None:
        """Write what was taken off the queue, then tell ``flush`` how far the writer got."""
        try:
            for block in items:
                if isinstance(block, ColumnBlock):
                    self._write_block(block)
            self._write_all([item for item in items if not isinstance(item, ColumnBlock)])
        finally:
            with self._progress:
                self._handled += count(items)
                self._progress.notify_all()

    def _write_block(self, block: ColumnBlock) -> None:
        """One segment from a block of column arrays; a failure is counted like a record group's."""
        try:
            table = block_table(block, self._block_probabilities(block))
            if (sampler := self.attributions) is not None:
                table = with_attributions(table, sampler.for_block, block, self._behind)
            self._write_segment(block.deployment, block.start_ms, block.end_ms, table)
        except Exception:
            self.failed_records += block.requests
            logger.exception("writing an inference log segment of %d requests failed", block.requests)

    def _block_probabilities(self, block: ColumnBlock) -> list[tuple[np.ndarray, np.ndarray]]:
        """``(row mask, probabilities)`` per variant of ``block`` whose model has ``predict_proba``."""
        if self._holder is None:
            return []
        plan = self._holder.current
        inputs = block.input_rows()
        row_variants = block.row_variants() if len(block.variants) > 1 else None
        out: list[tuple[np.ndarray, np.ndarray]] = []
        for index, (variant_name, version) in enumerate(block.variants):
            try:
                variant = plan.get(block.deployment).variant(variant_name)
            except NotFound:
                continue
            if variant.model_version != version or not variant.predictor.has_predict_proba:
                continue  # the plan moved on since this was served: leave it unknown rather than guess
            mask = np.ones(block.rows, np.bool_) if row_variants is None else row_variants == index
            values = inputs if row_variants is None else inputs[mask]
            try:
                proba = variant.predictor.predict_proba_array(values, block.columns)
                if proba is None:
                    proba = variant.predictor.predict_proba(Rows(values, block.columns).frame)
            except Exception:
                logger.warning("predict_proba for the inference log failed on %s", version, exc_info=True)
                continue
            out.append((mask, np.asarray(proba)))
        return out

    def _write_all(self, records: Sequence[ServedRequest]) -> None:
        """Write ``records`` as one segment per (deployment, hour, answered or failed); a failing segment is counted.

        A record that cannot be turned into a table (a refused request whose columns repeat a name,
        say) is dropped and counted in ``unwritable_records`` on its own: the rest of its segment,
        real failures included, is still written.
        """
        groups: dict[tuple[str, int, bool], list[ServedRequest]] = {}
        for record in records:
            groups.setdefault((record.deployment, record.time_ms // _HOUR_MS, record.failed), []).append(record)
        for (deployment, _hour, _failed), group in groups.items():
            try:
                table = build_table(group, self._probabilities(group))
            except Exception:
                group = self._writable(group)
                if not group:
                    continue
                try:
                    table = build_table(group, self._probabilities(group))
                except Exception:
                    self.failed_records += len(group)
                    logger.exception("building an inference log segment of %d requests failed", len(group))
                    continue
            if (sampler := self.attributions) is not None:
                table = with_attributions(table, sampler.for_records, group, row_counts(group), self._behind)
            try:
                times = [r.time_ms for r in group]
                self._write_segment(deployment, min(times), max(times), table)
            except Exception:  # a store outage must not kill the writer; the next batch tries again
                self.failed_records += len(group)
                logger.exception("writing an inference log segment of %d requests failed", len(group))

    def _writable(self, group: Sequence[ServedRequest]) -> list[ServedRequest]:
        """The records of ``group`` that make a table on their own; the others are dropped and counted."""
        kept: list[ServedRequest] = []
        for record in group:
            try:
                build_table([record], [None])
            except Exception:
                self.unwritable_records += 1
                logger.warning(
                    "the inference log record of request %s cannot be written and was dropped",
                    record.request_id,
                    exc_info=True,
                )
            else:
                kept.append(record)
        return kept

    def _write_segment(self, deployment: str, start_ms: int, end_ms: int, table: pa.Table) -> None:
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        segment_id = uuid.uuid4().hex
        rel = segment_path(deployment, start_ms, segment_id)
        self._store.put_bytes(self._store.root_uri, rel, sink.getvalue().to_pybytes())
        segment = InferenceSegment(
            id=segment_id,
            deployment=deployment,
            start_ms=start_ms,
            end_ms=end_ms,
            row_count=table.num_rows,
            uri=f"{self._store.root_uri}/{rel}",
            created_ms=self._clock.now_ms(),
        )
        with self._db.begin() as conn:
            segment_rows.add(conn, segment)
        self.written_rows += table.num_rows
        self.segments_written += 1

    def _probabilities(self, group: Sequence[ServedRequest]) -> list[np.ndarray | None]:
        """Class probabilities per record, one ``predict_proba`` call per variant; ``None`` where unknown."""
        out: list[np.ndarray | None] = [None] * len(group)
        if self._holder is None:
            return out
        by_variant: dict[tuple[str, str, str], list[int]] = {}
        for index, record in enumerate(group):
            if record.failed:
                continue  # no answer, no probabilities
            by_variant.setdefault((record.deployment, record.variant, record.model_version), []).append(index)
        plan = self._holder.current
        for (deployment, variant_name, version), indexes in by_variant.items():
            try:
                variant = plan.get(deployment).variant(variant_name)
            except NotFound:
                continue
            if variant.model_version != version or not variant.predictor.has_predict_proba:
                continue  # the plan moved on since this was served: leave it unknown rather than guess
            frames = [group[i].inputs for i in indexes]
            try:
                proba = variant.predictor.predict_proba(stack(frames))
            except Exception:
                logger.warning("predict_proba for the inference log failed on %s", version, exc_info=True)
                continue
            start = 0
            for i, frame in zip(indexes, frames, strict=True):
                out[i] = proba[start : start + len(frame)]
                start += len(frame)
        return out
