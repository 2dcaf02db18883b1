"""Loading the online store from the offline sources: the latest row per entity, and window events.

``materialize(view, start, end)`` reads the source rows stamped in ``[start, end)``, keeps the
latest per entity (DuckDB ``QUALIFY``) and writes them newer-wins, so running it twice, or over
overlapping intervals, leaves the same state. A view with aggregates also gets the events of its
widest window before ``end`` (identified by a hash of their content, so reloading adds nothing).
Rows go from DuckDB to the store in Arrow batches; nothing is loaded whole.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelyard.domain.features import Entity, FeatureView, PushSource
from modelyard.errors import InvalidInput
from modelyard.features.offline import connect
from modelyard.features.online.base import Event, OnlineStore, entity_key
from modelyard.features.sources import SourceReader, quote

_BATCH = 10_000


@dataclass(frozen=True, kw_only=True)
class MaterializeResult:
    view: str
    start_ms: int
    end_ms: int
    rows: int
    events: int


def _ms(expr: str) -> str:
    return f"epoch_ms(CAST({expr} AS TIMESTAMP))"


def materialize_view(
    reader: SourceReader, store: OnlineStore, view: FeatureView, entity: Entity, start_ms: int, end_ms: int
) -> MaterializeResult:
    if end_ms <= start_ms:
        raise InvalidInput(f"materialize needs start before end (got {start_ms} >= {end_ms} ms)")
    con = connect()
    try:
        if not reader.register(con, view.source, "__my_src"):
            return MaterializeResult(view=view.name, start_ms=start_ms, end_ms=end_ms, rows=0, events=0)
        keys = [quote(k) for k in entity.join_keys]
        ts = _ms(quote(view.source.timestamp_field))
        rows = 0
        if view.features:
            cols = ", ".join(quote(f.name) for f in view.features)
            query = (
                f"SELECT {', '.join(keys)}, {ts} AS __my_ms, {cols} FROM __my_src "
                f"WHERE {ts} >= {start_ms} AND {ts} < {end_ms} "
                f"QUALIFY row_number() OVER (PARTITION BY {', '.join(keys)} ORDER BY {ts} DESC) = 1"
            )
            for batch in con.sql(query).to_arrow_reader(_BATCH):
                records = batch.to_pylist()
                store.write_latest(
                    view.name,
                    [
                        (
                            entity_key([r[k] for k in entity.join_keys]),
                            int(r["__my_ms"]),
                            {f.name: r[f.name] for f in view.features},
                        )
                        for r in records
                    ],
                )
                rows += len(records)
        events = 0
        if view.aggregations:
            widest = max(a.window_ms for a in view.aggregations)
            columns = sorted({a.column for a in view.aggregations})
            cols = ", ".join(quote(c) for c in columns)
            content = ", ".join([*keys, ts, *(f"CAST({quote(c)} AS VARCHAR)" for c in columns)])
            event_id = f"md5(concat_ws('|', {content}))"
            if isinstance(view.source, PushSource) and view.source.event_id_field:
                event_id = f"CAST({quote(view.source.event_id_field)} AS VARCHAR)"
            query = (
                f"SELECT {', '.join(keys)}, {ts} AS __my_ms, {cols}, {event_id} AS __my_id "
                f"FROM __my_src WHERE {ts} >= {max(start_ms, end_ms - widest)} AND {ts} < {end_ms}"
            )
            for batch in con.sql(query).to_arrow_reader(_BATCH):
                records = batch.to_pylist()
                store.add_events(
                    view.name,
                    [
                        Event(
                            key=entity_key([r[k] for k in entity.join_keys]),
                            event_id=str(r["__my_id"]),
                            ts_ms=int(r["__my_ms"]),
                            values={c: r[c] for c in columns},
                        )
                        for r in records
                    ],
                )
                events += len(records)
            store.prune_events(view.name, end_ms - widest)
        return MaterializeResult(view=view.name, start_ms=start_ms, end_ms=end_ms, rows=rows, events=events)
    finally:
        con.close()
