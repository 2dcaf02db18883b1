"""Late ground truth: labels recorded by request id after the prediction was served.

A fraud label arrives weeks after the transaction was scored; performance monitoring joins it to
the inference log by the request id the server returned (``x-request-id``). Labels are any JSON
value (a class, a number, a list); a request id labelled again gets the newer label. Labels for
request ids the log never kept (sampled out, or dropped) are stored anyway: sampling is a property
of the log, not of the ground truth.

CSV import (``modelyard feedback import``) streams the file in chunks; each ``label`` cell is read
as JSON when it parses (``1`` -> 1, ``0.5`` -> 0.5, ``true`` -> True) and as a string otherwise.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from modelyard.clock import SYSTEM_CLOCK, Clock
from modelyard.domain.inference import Feedback
from modelyard.errors import InvalidInput, NotFound
from modelyard.store.db import Database
from modelyard.store.repos import feedback as feedback_rows

MAX_REQUEST_ID_LENGTH = 256
_CSV_CHUNK_ROWS = 10_000


class FeedbackService:
    """Records and looks up late labels."""

    def __init__(self, db: Database, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self._db = db
        self._clock = clock

    def log(self, request_id: str, label: Any) -> Feedback:
        """Record the ground truth of one request; returns what was stored."""
        [stored] = self.log_many([(request_id, label)])
        return stored

    def log_many(self, items: Iterable[tuple[str, Any]] | Mapping[str, Any]) -> list[Feedback]:
        """Record many labels in one transaction (all or none); a bad item names its position."""
        pairs = items.items() if isinstance(items, Mapping) else items
        now = self._clock.now_ms()
        records = [
            Feedback(request_id=_request_id(rid, index), label=_label(label, rid), time_ms=now)
            for index, (rid, label) in enumerate(pairs)
        ]
        if records:
            with self._db.begin() as conn:
                feedback_rows.put_many(conn, records)
        return records

    def get_many(self, request_ids: Sequence[str]) -> dict[str, Feedback]:
        """The labels known for ``request_ids``; ids without one are left out."""
        with self._db.read() as conn:
            return feedback_rows.get_many(conn, request_ids)

    def import_csv(self, path: str | os.PathLike[str], *, chunk_rows: int = _CSV_CHUNK_ROWS) -> int:
        """Record every ``request_id,label`` row of a CSV file; returns how many rows were read.

        Each chunk is its own transaction, so a bad row stops the import with the rows before
        its chunk stored; the error names the line.
        """
        total = 0
        for offset, chunk in _csv_chunks(path, chunk_rows):
            try:
                self.log_many(zip(chunk["request_id"], (_csv_label(v) for v in chunk["label"]), strict=True))
            except InvalidInput as exc:
                raise InvalidInput(f"{os.fspath(path)} (rows from line {offset + 2}): {exc.message}") from exc
            total += len(chunk)
        return total


def join_feedback(frame: pd.DataFrame, service: FeedbackService) -> pd.DataFrame:
    """``frame`` (inference log rows with ``request_id``) plus ``label`` and ``label_time_ms`` columns.

    Rows without a label get ``None`` and ``NA``; one lookup per call, so call it per chunk.
    """
    if "request_id" not in frame.columns:
        raise InvalidInput("joining feedback needs a 'request_id' column")
    found = service.get_many([str(r) for r in frame["request_id"]])
    out = frame.copy()
    out["label"] = [found[r].label if r in found else None for r in frame["request_id"]]
    out["label_time_ms"] = pd.array([found[r].time_ms if r in found else None for r in frame["request_id"]], "Int64")
    return out


def _request_id(value: Any, index: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"feedback item {index}: request_id must be a non-empty string, got {value!r}")
    if len(value) > MAX_REQUEST_ID_LENGTH:
        raise InvalidInput(f"feedback item {index}: request_id is longer than {MAX_REQUEST_ID_LENGTH} characters")
    return value


def _label(value: Any, request_id: str) -> Any:
    """``value`` as plain JSON data (numpy scalars and arrays unwrapped); NaN and infinities refused."""
    if isinstance(value, np.generic):
        value = value.item()
    elif isinstance(value, np.ndarray):
        value = value.tolist()
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        raise InvalidInput(f"feedback for request {request_id!r}: the label is missing (None or NaN)")
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"feedback for request {request_id!r}: the label is not JSON data: {exc}") from exc


def _csv_label(cell: Any) -> Any:
    if not isinstance(cell, str):
        return None  # an empty cell: refused by _label with the request id
    try:
        return json.loads(cell)
    except ValueError:
        return cell


def _csv_chunks(path: str | os.PathLike[str], chunk_rows: int) -> Iterator[tuple[int, pd.DataFrame]]:
    if not os.path.isfile(path):
        raise NotFound(f"no such file: {os.fspath(path)}")
    try:
        reader = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], chunksize=chunk_rows)
    except pd.errors.EmptyDataError as exc:
        raise InvalidInput(f"{os.fspath(path)} is empty; expected a header 'request_id,label'") from exc
    offset = 0
    with reader:
        for chunk in reader:
            missing = {"request_id", "label"} - set(chunk.columns)
            if missing:
                raise InvalidInput(f"{os.fspath(path)} has no {sorted(missing)} column(s); found {list(chunk.columns)}")
            yield offset, chunk
            offset += len(chunk)
