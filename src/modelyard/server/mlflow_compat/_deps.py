"""What every MLflow-compatible handler needs from the request: the backend, the user, and the
translation between modelyard's artifact locations and MLflow's ``mlflow-artifacts:`` URIs."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from modelyard.errors import BackendUnavailable
from modelyard.sdk.backends.local import LocalBackend
from modelyard.store.artifacts import normalize_artifact_path
from modelyard.tracking import DEFAULT_EXPERIMENT_NAME

MLFLOW_ARTIFACTS_SCHEME = "mlflow-artifacts:"
DEFAULT_EXPERIMENT_ID = "0"  # the id the mlflow client uses when no experiment was set


def _backend(request: Request) -> LocalBackend:
    backend = getattr(request.app.state, "backend", None)
    if not isinstance(backend, LocalBackend):
        raise BackendUnavailable("the server has no store open (app.state.backend is not set)")
    return backend


Backend = Annotated[LocalBackend, Depends(_backend)]


def request_user(request: Request, backend: LocalBackend, claimed: str | None) -> str:
    """The user a new run is recorded under: the server's authenticated actor when it set one
    (``request.state.actor``), otherwise the ``user_id`` the client sent, else the server's user."""
    actor = getattr(request.state, "actor", None)
    name = getattr(actor, "name", None)
    if isinstance(name, str) and name:
        return name
    return claimed or backend.settings.user


def experiment_id_in(backend: LocalBackend, experiment_id: str) -> str:
    """modelyard's id for an MLflow experiment id; MLflow's ``"0"`` is the Default experiment."""
    if str(experiment_id) == DEFAULT_EXPERIMENT_ID:
        return backend.experiments.get_or_create(DEFAULT_EXPERIMENT_NAME).experiment_id
    return str(experiment_id)


def artifact_uri_out(backend: LocalBackend, uri: str) -> str:
    """How the client sees a storage location: below the server's artifact root it becomes
    ``mlflow-artifacts:/<path>``, which the client reaches through this server; anything else
    (a bucket the client can write itself) is passed on as it is."""
    root = backend.artifact_store.root_uri.rstrip("/")
    if uri == root:
        return f"{MLFLOW_ARTIFACTS_SCHEME}/"
    if uri.startswith(root + "/"):
        return f"{MLFLOW_ARTIFACTS_SCHEME}/{uri[len(root) + 1 :]}"
    return uri


def artifact_uri_in(backend: LocalBackend, uri: str) -> str:
    """The storage location an ``mlflow-artifacts:`` URI from a client names (others unchanged)."""
    if uri.startswith(MLFLOW_ARTIFACTS_SCHEME):
        rest = normalize_artifact_path(uri[len(MLFLOW_ARTIFACTS_SCHEME) :].lstrip("/"))
        root = backend.artifact_store.root_uri.rstrip("/")
        return f"{root}/{rest}" if rest else root
    return uri
