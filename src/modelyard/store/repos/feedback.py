"""Late ground-truth labels by request id; recording a label again replaces it."""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import Connection, select

from modelyard.domain.inference import Feedback
from modelyard.store.repos._upsert import upsert
from modelyard.store.tables.inference import feedback

_IN_CHUNK = 500  # bound the bind parameters of one IN (...) query


def put_many(conn: Connection, records: Sequence[Feedback]) -> None:
    """Store ``records``; a request id already labelled gets the new label and time."""
    latest = {r.request_id: r for r in records}  # one statement may not touch a key twice (PostgreSQL)
    rows = [{"request_id": r.request_id, "label": json.dumps(r.label), "time_ms": r.time_ms} for r in latest.values()]
    upsert(conn, feedback, rows, keys=["request_id"], update=["label", "time_ms"])


def get_many(conn: Connection, request_ids: Sequence[str]) -> dict[str, Feedback]:
    """The labels known for ``request_ids`` (ids without one are absent from the result)."""
    found: dict[str, Feedback] = {}
    unique = list(dict.fromkeys(request_ids))
    for start in range(0, len(unique), _IN_CHUNK):
        chunk = unique[start : start + _IN_CHUNK]
        for row in conn.execute(select(feedback).where(feedback.c.request_id.in_(chunk))):
            found[row.request_id] = Feedback(
                request_id=row.request_id, label=json.loads(row.label), time_ms=int(row.time_ms)
            )
    return found
