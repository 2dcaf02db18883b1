"""Reading the inference log by time window, in chunks of bounded size, with late labels joined.

The segments of a window come from the store's index (one query); each is streamed from the
artifact store in record batches of at most ``chunk_rows`` rows, so memory stays bounded whatever
the window's size. Columns asked for but absent from a segment (a feature a canary added, say)
come back as nulls, so every chunk of one call has the same columns.

Segments written before the log recorded failures have no ``status``/``error`` columns; every
request in them was answered. Asked for, the columns come back null for those rows: a null
``status`` means "old layout, answered" (``inference_log`` has the layout), and each chunk comes
from one segment, so a chunk is wholly old or wholly new.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from modelyard.domain.inference import InferenceSegment
from modelyard.errors import InvalidInput
from modelyard.serving.feedback import FeedbackService, join_feedback
from modelyard.store.artifacts import ArtifactStore
from modelyard.store.db import Database
from modelyard.store.repos import inference_segments as segment_rows

DEFAULT_CHUNK_ROWS = 50_000


class InferenceLogReader:
    """Windows of one deployment's inference log, as a stream of DataFrames."""

    def __init__(self, db: Database, store: ArtifactStore, *, feedback: FeedbackService | None = None) -> None:
        self._db = db
        self._store = store
        self._feedback = feedback or FeedbackService(db)

    def segments(self, deployment: str, start_ms: int, end_ms: int) -> list[InferenceSegment]:
        """The indexed segments holding rows of ``deployment`` in ``[start_ms, end_ms)``, oldest first."""
        _check_window(start_ms, end_ms)
        with self._db.read() as conn:
            return segment_rows.overlapping(conn, deployment, start_ms, end_ms)

    def read_window(
        self,
        deployment: str,
        start_ms: int,
        end_ms: int,
        columns: Sequence[str] | None = None,
        *,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
        with_feedback: bool = False,
    ) -> Iterator[pd.DataFrame]:
        """Rows of ``deployment`` with ``start_ms <= time_ms < end_ms``, at most ``chunk_rows`` per frame.

        ``columns`` selects stored columns (``None``: all of each segment). ``with_feedback`` adds
        ``label`` and ``label_time_ms`` (see ``join_feedback``); it needs ``request_id``, which is
        then read even when not asked for.
        """
        segments = self.segments(deployment, start_ms, end_ms)
        yield from self.read_segments(
            segments, start_ms, end_ms, columns, chunk_rows=chunk_rows, with_feedback=with_feedback
        )

    def read_segments(
        self,
        segments: Sequence[InferenceSegment],
        start_ms: int,
        end_ms: int,
        columns: Sequence[str] | None = None,
        *,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
        with_feedback: bool = False,
    ) -> Iterator[pd.DataFrame]:
        """``read_window`` over the given segments only: a part of a window, read where it is computed
        (a Ray task of a monitor run reads its share of the window's segments with this)."""
        if chunk_rows < 1:
            raise InvalidInput(f"chunk_rows must be at least 1, got {chunk_rows}")
        wanted = None if columns is None else list(dict.fromkeys(columns))
        for segment in segments:
            for frame in self._read_segment(segment, start_ms, end_ms, wanted, chunk_rows, with_feedback):
                yield join_feedback(frame, self._feedback) if with_feedback else frame

    def _read_segment(
        self,
        segment: InferenceSegment,
        start_ms: int,
        end_ms: int,
        wanted: list[str] | None,
        chunk_rows: int,
        with_feedback: bool,
    ) -> Iterator[pd.DataFrame]:
        inside = start_ms <= segment.start_ms and segment.end_ms < end_ms
        path = self._store.fs._strip_protocol(segment.uri)
        with self._store.fs.open(path, "rb") as handle:
            parquet = pq.ParquetFile(handle)
            stored = parquet.schema_arrow.names
            keep = stored if wanted is None else [c for c in wanted if c in stored]
            extra = [c for c in ("time_ms", "request_id") if c not in keep and (c == "time_ms" or with_feedback)]
            read = [c for c in stored if c in set(keep) | set(extra)]
            for batch in parquet.iter_batches(batch_size=chunk_rows, columns=read):
                table = pa.Table.from_batches([batch])
                if not inside:
                    times = table.column("time_ms")
                    table = table.filter(pc.and_(pc.greater_equal(times, start_ms), pc.less(times, end_ms)))
                if table.num_rows == 0:
                    continue
                frame = table.to_pandas()
                order = list(keep) if wanted is None else list(wanted)
                if with_feedback and "request_id" not in order:
                    order.append("request_id")
                for column in order:
                    if column not in frame.columns:
                        frame[column] = None
                yield frame[order]


def _check_window(start_ms: int, end_ms: int) -> None:
    if end_ms <= start_ms:
        raise InvalidInput(f"a window needs start_ms < end_ms, got {start_ms} and {end_ms}")
