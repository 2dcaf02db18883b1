"""Pieces shared by the request bodies: MLflow's ``{key, value}`` pairs and lenient parsing.

Bodies ignore fields they do not know (the client sends ``run_uuid`` next to ``run_id`` and newer
clients add fields), as MLflow's own server does.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from modelyard.errors import InvalidInput

Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
"""An int64 field (times, steps): a larger number is a 400, not a database overflow."""

PageSize = Annotated[int, Field(ge=1, le=100_000)]
"""``max_results`` of a page."""


class Body(BaseModel):
    """Base of every MLflow request body: unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore")


class KeyValue(Body):
    key: str
    value: str = ""


def as_dict(pairs: list[KeyValue] | None) -> dict[str, str]:
    return {pair.key: pair.value for pair in pairs or []}


def run_id_of(run_id: str | None, run_uuid: str | None) -> str:
    """MLflow sends the run id twice (``run_id`` and the older ``run_uuid``); either will do."""
    chosen = run_id or run_uuid
    if not chosen:
        raise InvalidInput("run_id is required")
    return chosen


PROMPT_TAG = "mlflow.prompt.is_prompt"
_PROMPT_CLAUSE = re.compile(
    r"""(?:^|\s+AND\s+)tags?\.`?mlflow\.prompt\.is_prompt`?\s*(?P<op>!=|=)\s*'(?P<value>[^']*)'""",
    re.IGNORECASE,
)


def split_prompt_clause(text: str | None) -> tuple[str | None, bool | None]:
    """The registry filter without the clause mlflow adds to keep prompts apart, and whether
    prompts (models tagged ``mlflow.prompt.is_prompt = 'true'``) are wanted (None: either)."""
    if not text:
        return text, None
    found = _PROMPT_CLAUSE.search(text)
    if found is None:
        return text, None
    rest = (text[: found.start()] + text[found.end() :]).strip()
    rest = re.sub(r"^AND\s+", "", rest, flags=re.IGNORECASE)
    wants_true = (found["op"] == "=") == (found["value"].lower() == "true")
    return rest or None, wants_true


def is_prompt(tags: dict[str, str]) -> bool:
    return tags.get(PROMPT_TAG, "").lower() == "true"
