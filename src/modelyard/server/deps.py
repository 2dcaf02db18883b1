"""What route handlers depend on: the process's backend and the request's actor."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from modelyard.domain.governance import Actor
from modelyard.sdk.backends.local import LocalBackend
from modelyard.server.auth import current_actor


def get_backend(request: Request) -> LocalBackend:
    """The ``LocalBackend`` opened once per process (``app.state.backend``); its services read the
    request's authenticated actor, so they check permissions as in embedded mode."""
    backend: LocalBackend = request.app.state.backend
    return backend


def get_actor() -> Actor:
    return current_actor()


BackendDep = Annotated[LocalBackend, Depends(get_backend)]
ActorDep = Annotated[Actor, Depends(get_actor)]
