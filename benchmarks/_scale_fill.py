"""What a scale fill writes besides the runs, and where it remembers what it wrote.

The measurement used to write its own data before timing the reads of it (a 1,000,000-point
metric history, 10,000 registered models); a fill that takes an hour at full size must be
measured again without filling again, so both are part of the fill now, and the fill records
what the measurement needs to aim its queries (the plan, the experiment ids, the runs with a
history, how long each phase took) as JSON in the database's own comment
(``COMMENT ON DATABASE``): the record and the rows cannot drift apart, and dropping the
database drops both.
"""

from __future__ import annotations

import json
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

FORMAT = 1  # of the JSON in the database comment; a fill of another format is no fill

LONG_KEY, LONG_POINTS = "long_history", 1_000_000

REGISTERED_MODELS = 10_000
MODEL_TAGS = (("team", 20), ("stage", 4), ("owner", 100), ("domain", 10), ("tier", 3))  # key, distinct values


def add_long_history(conn: psycopg.Connection[Any], tool: str, run_id: str) -> None:
    """``LONG_POINTS`` values of ``LONG_KEY`` in ``run_id``, by SQL into the tool's metric table."""
    if tool == "modelyard":
        sql = (
            "INSERT INTO metrics (run_id, key, value, timestamp, step) "
            "SELECT %s, %s, random(), 1735689600000 + g, g FROM generate_series(1, %s) g"
        )
    else:
        sql = (
            "INSERT INTO metrics (run_uuid, key, value, timestamp, step, is_nan) "
            "SELECT %s, %s, random(), 1735689600000 + g, g, false FROM generate_series(1, %s) g"
        )
    conn.execute(sql, (run_id, LONG_KEY, LONG_POINTS))
    conn.commit()


def add_registered_models(conn: psycopg.Connection[Any], tool: str) -> None:
    """``REGISTERED_MODELS`` models with ``MODEL_TAGS``, the same in each tool's tables."""
    name = "'model-' || lpad(g::text, 5, '0')"
    value = "%s::text || '-' || (hashtext(g::text || %s::text) & 2147483647) %% %s"
    if tool == "modelyard":
        models = (
            "INSERT INTO registered_models (name, description, creation_time, last_updated_time, next_version)"
            f" SELECT {name}, '', g, g, 1 FROM generate_series(1, %s) g"
        )
    else:
        models = (
            "INSERT INTO registered_models (name, description, creation_time, last_updated_time)"
            f" SELECT {name}, '', g, g FROM generate_series(1, %s) g"
        )
    tags = (
        f"INSERT INTO registered_model_tags (name, key, value) SELECT {name}, %s, {value} FROM generate_series(1, %s) g"
    )
    conn.execute(models, (REGISTERED_MODELS,))
    for key, values in MODEL_TAGS:
        conn.execute(tags, (key, key, key, values, REGISTERED_MODELS))
    conn.commit()


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL (``postgresql+psycopg://…``) as libpq spells it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


# -- the record of a fill, in the database's comment ------------------------------------------------------


def _database(conn: psycopg.Connection[Any]) -> str:
    row = conn.execute("SELECT current_database()").fetchone()
    assert row is not None
    return str(row[0])


def save_record(conn: psycopg.Connection[Any], record: dict[str, Any]) -> None:
    """Store ``record`` as the comment of the database ``conn`` is connected to."""
    name = _database(conn)
    text = json.dumps({"format": FORMAT, **record}, separators=(",", ":"))
    # COMMENT takes a literal, not a parameter: quote it as PostgreSQL does.
    literal = "'" + text.replace("'", "''") + "'"
    conn.execute(f'COMMENT ON DATABASE "{name}" IS {literal}')
    conn.commit()


def load_record(libpq: str) -> dict[str, Any] | None:
    """The record a fill left in the database ``libpq`` names, or None (no such database, no
    comment, or a comment that is not a fill's record)."""
    name = make_url(libpq).database
    admin = make_url(libpq).set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", (name,)
        ).fetchone()
    if row is None or not row[0]:
        return None
    try:
        record = json.loads(row[0])
    except ValueError:
        return None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        return None
    return record


def database_size(libpq: str) -> str:
    """``pg_size_pretty(pg_database_size(...))`` of the database ``libpq`` names."""
    name = make_url(libpq).database
    with psycopg.connect(libpq) as conn:
        row = conn.execute("SELECT pg_size_pretty(pg_database_size(%s))", (name,)).fetchone()
    return str(row[0]) if row else "?"
