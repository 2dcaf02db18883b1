"""Registry searches by several tags: the right models and versions on both engines, long values
included (up to the 5,000 characters a tag may hold), and on PostgreSQL a plan that starts from the
(key, md5(value)) index of the tag table instead of scanning every tag (0014)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import event, text

from modelyard.registry import RegisteredModelService
from modelyard.store.db import Database
from modelyard.store.migration import ensure_schema
from registry.conftest import Registry

LONG = "x" * 2_499 + "".join(chr(0x4E00 + i % 2000) for i in range(2_500))  # 4,999 characters, ~10 kB


def test_several_tag_filters_find_the_models_holding_every_tag(reg: Registry) -> None:
    tags = {
        "churn-us": {"team": "growth", "stage": "prod", "note": LONG},
        "churn-eu": {"team": "growth", "stage": "dev", "note": LONG},
        "fraud": {"team": "risk", "stage": "prod", "note": LONG + "!"},
        "bare": {},
    }
    for name, held in tags.items():
        reg.models.create(name)
        for key, value in held.items():
            reg.models.set_tag(name, key, value)
    found = reg.models.search("tags.team = 'growth' AND tags.stage = 'prod'")
    assert [m.name for m in found] == ["churn-us"]
    assert [m.name for m in reg.models.search(f"tags.note = '{LONG}'")] == ["churn-eu", "churn-us"]
    assert [m.name for m in reg.models.search(f"tags.note = '{LONG}!' AND tags.stage = 'prod'")] == ["fraud"]
    assert reg.models.search("tags.team = 'growth' AND tags.stage = 'staging'") == []


MODELS = 10_000


def test_a_search_by_several_tags_at_10000_models_starts_from_the_tag_index(
    postgres_url_factory: Callable[..., str],
) -> None:
    db = Database(postgres_url_factory(migrated=True))
    ensure_schema(db)
    try:
        with db.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO registered_models (name, description, creation_time, last_updated_time, next_version)"
                    " SELECT 'model-' || lpad(g::text, 5, '0'), '', g, g, 1 FROM generate_series(1, :n) g"
                ),
                {"n": MODELS},
            )
            for key, values in (("team", 20), ("stage", 4), ("owner", 100), ("domain", 10), ("tier", 3)):
                conn.execute(
                    text(
                        "INSERT INTO registered_model_tags (name, key, value) SELECT 'model-' || lpad(g::text, 5, '0'),"
                        " CAST(:key AS text), CAST(:key AS text) || '-' || (hashtext(g::text || :key) & 2147483647)"
                        " % :values FROM generate_series(1, :n) g"
                    ),
                    {"key": key, "values": values, "n": MODELS},
                )
        with db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
        statements: list[tuple[str, object]] = []

        def capture(conn: object, cursor: object, statement: str, parameters: object, *_: object) -> None:
            if "registered_model_tags" in statement and "EXISTS" in statement:
                statements.append((statement, parameters))

        event.listen(db.engine, "before_cursor_execute", capture)
        found = RegisteredModelService(db).search(
            "tags.team = 'team-3' AND tags.stage = 'stage-1' AND tags.domain = 'domain-2'"
        )
        event.remove(db.engine, "before_cursor_execute", capture)
        with db.read() as conn:
            expected = (
                conn.execute(
                    text(
                        "SELECT name FROM registered_models m WHERE"
                        " (SELECT count(*) FROM registered_model_tags t WHERE t.name = m.name AND (t.key, t.value) IN"
                        " (('team', 'team-3'), ('stage', 'stage-1'), ('domain', 'domain-2'))) = 3 ORDER BY name"
                    )
                )
                .scalars()
                .all()
            )
            ((statement, parameters),) = statements
            plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, parameters))  # type: ignore[arg-type]
        assert [m.name for m in found] == expected and expected
        assert "ix_registered_model_tags_key_value" in plan, plan
        assert "Seq Scan on registered_model_tags" not in plan, plan
    finally:
        db.dispose()
