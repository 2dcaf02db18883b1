"""Who is acting: services get an ``ActorProvider`` at construction and ask it on every write.

Why a provider rather than an ``actor`` argument on every method: the SDK and CLI build their
services once per process for one user (``Settings.user``), while the server (a later issue)
builds them once and answers requests for many users; a provider that reads the current
request's authenticated user serves both without widening every method's signature, and no
call site can forget to pass the actor.
"""

from __future__ import annotations

from collections.abc import Callable

from modelyard.domain.governance import Actor

ActorProvider = Callable[[], Actor]

DEFAULT_LOCAL_USER = "local"


def local_actor(name: str) -> ActorProvider:
    """The embedded-mode actor: ``Settings.user``, provisioned as a user on first use."""
    actor = Actor(name=name, via="local")
    return lambda: actor


def actor_provider(value: ActorProvider | str | None) -> ActorProvider:
    """Accept a provider, a plain user name (embedded mode), or nothing (the ``local`` user)."""
    if value is None:
        return local_actor(DEFAULT_LOCAL_USER)
    if isinstance(value, str):
        return local_actor(value)
    return value
