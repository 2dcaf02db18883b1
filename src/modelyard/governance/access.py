"""Permission checks: ``require`` inside a service's transaction, denials audited for good.

A user's role on a scope is the highest of their global binding and their binding on that exact
scope (an experiment, a registered model, a deployment). A denial raises ``PermissionDenied``
naming the missing permission; ``guarded`` (the transaction every governed service opens)
then records a ``permission.denied`` event in a transaction of its own, after the operation's
transaction has rolled back, so the denial is kept although the change is not. (Writing it from
a second transaction while the first still held SQLite's write lock would wait on itself.)

Embedded mode provisions users on first use: the very first user of a brand-new store becomes
``admin`` (a laptop user is never locked out of their own store); later local users start as
``contributor``. Token-authenticated actors are never provisioned: an admin creates them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection

from modelyard.clock import SYSTEM_CLOCK, Clock
from modelyard.domain.governance import (
    GLOBAL_SCOPE,
    PERMISSION_ROLES,
    Actor,
    Permission,
    Role,
    RoleBinding,
    Scope,
)
from modelyard.errors import PermissionDenied, Unauthenticated
from modelyard.names import check_name
from modelyard.store.db import Database
from modelyard.store.repos import audit as audit_rows
from modelyard.store.repos import identity as identity_rows

FIRST_USER_ROLE = Role.ADMIN
LOCAL_USER_ROLE = Role.CONTRIBUTOR


def _provision(conn: Connection, actor: Actor, *, now_ms: int) -> None:
    """Create an unknown embedded-mode user (a token-authenticated one is refused)."""
    if actor.via != "local":
        raise Unauthenticated(f"unknown user {actor.name!r}")
    check_name("user name", actor.name)  # MODELYARD_USER='bob\nadmin0' would print as two actors
    # Two processes of one new user may get here at once, and two first users must not both
    # become admin: re-check and count under the chain's lock, held until the transaction ends.
    audit_rows.lock_chain(conn)
    if identity_rows.get_user(conn, actor.name) is not None:
        return
    event = audit_rows.append(
        conn, time_ms=now_ms, actor=actor.name, action="user.provisioned", object_kind="user",
        object_id=actor.name, details={},
    )  # fmt: skip
    role = FIRST_USER_ROLE if identity_rows.count_users(conn) == 0 else LOCAL_USER_ROLE
    identity_rows.insert_user(conn, actor.name, now_ms=now_ms)
    identity_rows.bind(conn, RoleBinding(user=actor.name, role=role, scope=GLOBAL_SCOPE, created_ms=now_ms))
    audit_rows.append(
        conn, time_ms=now_ms, actor=actor.name, action="role.granted", object_kind="user", object_id=actor.name,
        details={"role": role.label, "scope": str(GLOBAL_SCOPE), "why": "first use", "after": event.seq},
    )  # fmt: skip


def _disabled(actor: Actor) -> PermissionDenied:
    return PermissionDenied(f"user {actor.name!r} is disabled", actor=actor.name, audit_denial=True)


def effective_role(conn: Connection, user: str, scope: Scope = GLOBAL_SCOPE) -> Role | None:
    """The highest role ``user`` holds globally or on ``scope`` itself."""
    found = identity_rows.access(conn, user, scope)
    return None if found is None else found.role


def require(
    conn: Connection, actor: Actor, permission: Permission, scope: Scope = GLOBAL_SCOPE, *, now_ms: int
) -> None:
    """Raise ``PermissionDenied`` unless ``actor`` holds ``permission`` on ``scope``.

    One query reads the user's disabled flag and roles together, every call: nothing is cached,
    so a revoked role or a disabled user takes effect on the very next check.
    """
    found = identity_rows.access(conn, actor.name, scope)
    if found is None:
        _provision(conn, actor, now_ms=now_ms)
        found = identity_rows.access(conn, actor.name, scope)
        if found is None:  # provisioning refuses rather than returns for a user it cannot create
            raise Unauthenticated(f"unknown user {actor.name!r}")
    if found.disabled:
        raise _disabled(actor)
    needed = PERMISSION_ROLES[permission]
    held = found.role
    if held is None or held < needed:
        has = held.label if held is not None else "no role"
        raise PermissionDenied(
            f"{actor.name!r} lacks the {permission.value!r} permission on {scope} "
            f"(needs role {needed.label} or higher, has {has})",
            actor=actor.name,
            permission=permission.value,
            scope=str(scope),
            audit_denial=True,
        )


@contextmanager
def guarded(db: Database, clock: Clock = SYSTEM_CLOCK) -> Iterator[Connection]:
    """``db.begin()`` that audits a ``PermissionDenied`` in its own transaction after rollback."""
    try:
        with db.begin() as conn:
            yield conn
    except PermissionDenied as exc:
        if exc.details.pop("audit_denial", False):
            record_denial(db, exc, now_ms=clock.now_ms())
        raise


def record_denial(db: Database, exc: PermissionDenied, *, now_ms: int) -> None:
    details = {k: v for k, v in exc.details.items() if k != "actor"}
    details["message"] = exc.message
    with db.begin() as conn:
        audit_rows.append(
            conn, time_ms=now_ms, actor=str(exc.details.get("actor", "unknown")), action="permission.denied",
            object_kind="permission", object_id=str(exc.details.get("permission", "")), details=details,
        )  # fmt: skip
