"""Pieces shared by the request bodies: MLflow's ``{key, value}`` pairs and lenient parsing.

Bodies ignore fields they do not know (the client sends ``run_uuid`` next to ``run_id`` and newer
clients add fields), as MLflow's own server does.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from modelyard.errors import InvalidInput


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
