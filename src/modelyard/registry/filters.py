"""The registry's filter strings, MLflow's subset: ``clause AND clause ...``.

A clause is ``<field> <op> '<value>'`` with ``op`` one of ``=``, ``LIKE``, ``ILIKE`` (``=`` only
for tags). Registered models filter on ``name`` and ``tags.<key>``; versions also on ``run_id``,
``version``, ``stage`` (or ``current_stage``). Examples::

    name LIKE 'churn%' AND tags.team = 'growth'
    name = 'churn' AND stage = 'Production'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from modelyard.domain.registry import ModelStage
from modelyard.errors import InvalidInput
from modelyard.store.repos.model_versions import VersionFilter
from modelyard.store.repos.registered_models import ModelFilter

_CLAUSE = re.compile(
    r"""^\s*(?P<field>tags\.`[^`]+`|tags\.[\w.\-]+|\w+)\s*(?P<op>=|ILIKE|LIKE)\s*"""
    r"""(?:'(?P<sq>(?:[^']|'')*)'|"(?P<dq>(?:[^"]|"")*)"|(?P<num>\d+))\s*$""",
    re.IGNORECASE,
)
_AND = re.compile(r"\s+AND\s+", re.IGNORECASE)


@dataclass(frozen=True)
class _Clause:
    field: str
    op: str
    value: str


def _clauses(text: str | None) -> list[_Clause]:
    if text is None or not text.strip():
        return []
    out = []
    for part in _split(text):
        match = _CLAUSE.match(part)
        if match is None:
            raise InvalidInput(f"cannot read the filter clause {part.strip()!r}; expected e.g. name LIKE 'churn%'")
        value = match["sq"] if match["sq"] is not None else match["dq"] if match["dq"] is not None else match["num"]
        out.append(_Clause(match["field"], match["op"].upper(), value.replace("''", "'").replace('""', '"')))
    return out


def _split(text: str) -> list[str]:
    """Split on AND outside quotes."""
    parts: list[str] = []
    start, i, quote = 0, 0, ""
    while i < len(text):
        ch = text[i]
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif (match := _AND.match(text, i)) is not None:
            parts.append(text[start:i])
            start = i = match.end()
            continue
        i += 1
    parts.append(text[start:])
    return parts


def _tag_key(field: str) -> str | None:
    if not field.lower().startswith("tags."):
        return None
    return field[5:].strip("`")


def _name_condition(clause: _Clause, into: dict[str, str]) -> None:
    key = {"=": "name_equals", "LIKE": "name_like", "ILIKE": "name_ilike"}[clause.op]
    into[key] = clause.value


def model_filter(text: str | None) -> ModelFilter:
    """Parse a registered-model filter."""
    names: dict[str, str] = {}
    tags: dict[str, str] = {}
    for clause in _clauses(text):
        key = _tag_key(clause.field)
        if key is not None and clause.op == "=":
            tags[key] = clause.value
        elif clause.field.lower() == "name":
            _name_condition(clause, names)
        else:
            raise InvalidInput(
                f"registered models cannot be filtered on {clause.field} {clause.op}; "
                "use name =/LIKE/ILIKE or tags.<key> ="
            )
    return ModelFilter(tags=tags, **names)


def version_filter(text: str | None) -> tuple[VersionFilter, list[int] | None]:
    """Parse a model-version filter; the second value is the version numbers asked for, if any."""
    names: list[str] | None = None
    name_like: str | None = None
    run_id: str | None = None
    stages: list[ModelStage] | None = None
    versions: list[int] | None = None
    tags: dict[str, str] = {}
    for clause in _clauses(text):
        field = clause.field.lower()
        key = _tag_key(clause.field)
        if key is not None and clause.op == "=":
            tags[key] = clause.value
        elif field == "name" and clause.op == "=":
            names = [clause.value]
        elif field == "name" and clause.op == "LIKE":
            name_like = clause.value
        elif field == "run_id" and clause.op == "=":
            run_id = clause.value
        elif field in ("stage", "current_stage") and clause.op == "=":
            stages = [ModelStage.parse(clause.value)]
        elif field == "version" and clause.op == "=" and clause.value.isdigit():
            versions = [int(clause.value)]
        else:
            raise InvalidInput(
                f"model versions cannot be filtered on {clause.field} {clause.op}; use name, run_id, "
                "stage, version or tags.<key> with =, or name LIKE"
            )
    where = VersionFilter(names=names, name_like=name_like, run_id=run_id, stages=stages, tags=tags)
    return where, versions
