"""Parsing shared by the governance commands: ``NAME/VERSION`` and role scopes."""

from __future__ import annotations

from modelyard.domain.governance import GLOBAL_SCOPE, Scope, ScopeKind
from modelyard.errors import InvalidInput


def name_version(value: str) -> tuple[str, int]:
    """``churn/3`` -> ("churn", 3); a clear error for anything else."""
    name, sep, version = value.rpartition("/")
    if not sep or not name or not version.isdigit():
        raise InvalidInput(f"expected NAME/VERSION (e.g. churn/3), got {value!r}")
    return name, int(version)


def scope(model: str | None, experiment: str | None, deployment: str | None) -> Scope:
    given = [(k, v) for k, v in (("model", model), ("experiment", experiment), ("deployment", deployment)) if v]
    if len(given) > 1:
        raise InvalidInput("give at most one of --model, --experiment, --deployment")
    if not given:
        return GLOBAL_SCOPE
    kind, value = given[0]
    kinds = {
        "model": ScopeKind.REGISTERED_MODEL,
        "experiment": ScopeKind.EXPERIMENT,
        "deployment": ScopeKind.DEPLOYMENT,
    }
    return Scope(kind=kinds[kind], id=str(value))
