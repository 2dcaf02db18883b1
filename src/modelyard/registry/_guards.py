"""Checks before a version leaves the registry: what it holds under the approval policy, and who serves it."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from modelyard.domain.registry import ModelVersion
from modelyard.errors import Conflict
from modelyard.governance import protected_holdings
from modelyard.store.repos import deployments as deployment_rows


def check_not_protected(conn: Connection, versions: Sequence[ModelVersion]) -> None:
    """``Conflict`` if a version holds a stage or alias its model's approval policy protects."""
    for v in versions:
        held = protected_holdings(conn, v.name, v.stage.value, v.aliases)
        if held:
            raise Conflict(
                f"version {v.version} of {v.name!r} holds {' and '.join(held)}, which the approval policy "
                "protects: move them with an approved request before deleting it"
            )


def check_not_served(conn: Connection, name: str, numbers: Sequence[int]) -> None:
    """``Conflict`` naming the deployments that serve one of ``numbers`` of ``name``."""
    wanted = set(numbers)
    serving = sorted(
        f"{d.name} ({v.name}: v{v.version})"
        for d in deployment_rows.list_all(conn)
        for v in d.variants
        if v.model_name == name and v.version in wanted
    )
    if serving:
        raise Conflict(
            f"{name!r} is served by deployment {', '.join(serving)}; undeploy it or deploy another version first"
        )
