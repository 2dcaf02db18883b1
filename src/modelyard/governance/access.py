"""Permission checks: ``require`` inside a service's transaction, denials audited for good.

A user's role on a scope is the highest of their global binding and their binding on that exact
scope (an experiment, a registered model, a deployment). A denial raises ``PermissionDenied``
naming the missing permission; ``guarded`` (the transaction every governed service opens)
then records a ``permission.denied`` event in a transaction of its own, after the operation's
transaction has rolled back, so the denial is kept although the change is not. (Writing it from
a second transaction while the first still held SQLite's write lock would wait on itself.)

Embedded mode and new identities: the first user to change a brand-new store (its creator: the
OS user or ``MODELYARD_USER`` of whoever runs the quickstart) is recorded as its ``admin``, so a
laptop user is never locked out of their own store. Any other name nobody created is a ``viewer``:
it may read, and changes nothing until an admin creates it with a role (``users create NAME
--role contributor``) or grants one. Such a name is not written to the store (a read never writes),
so a typo in ``MODELYARD_USER`` leaves no trace but its audited denials. Token-authenticated actors
are never provisioned: an admin creates them. The embedded trust model stays what it is: whoever
can open the store's files can also write them directly; roles guard a shared store behind the
server, and keep honest people on a shared file from mistakes.
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
NEW_IDENTITY_ROLE = Role.VIEWER


def _provision(conn: Connection, actor: Actor, *, now_ms: int) -> bool:
    """Record the creator of a brand-new store as its admin; ``False`` when the store has users.

    Two processes of one new user may get here at once, and two first users must not both become
    admin: re-check and count under the chain's lock, held until the transaction ends.
    """
    check_name("user name", actor.name)  # MODELYARD_USER='bob\nadmin0' would print as two actors
    audit_rows.lock_chain(conn)
    if identity_rows.get_user(conn, actor.name) is not None:
        return True
    if identity_rows.count_users(conn) > 0:
        return False
    event = audit_rows.append(
        conn, time_ms=now_ms, actor=actor.name, action="user.provisioned", object_kind="user",
        object_id=actor.name, details={},
    )  # fmt: skip
    identity_rows.insert_user(conn, actor.name, now_ms=now_ms)
    identity_rows.bind(conn, RoleBinding(user=actor.name, role=FIRST_USER_ROLE, scope=GLOBAL_SCOPE, created_ms=now_ms))
    audit_rows.append(
        conn, time_ms=now_ms, actor=actor.name, action="role.granted", object_kind="user", object_id=actor.name,
        details={"role": FIRST_USER_ROLE.label, "scope": str(GLOBAL_SCOPE), "why": "created the store",
                 "after": event.seq},
    )  # fmt: skip
    return True


def _disabled(actor: Actor) -> PermissionDenied:
    return PermissionDenied(f"user {actor.name!r} is disabled", actor=actor.name, audit_denial=True)


def effective_role(conn: Connection, user: str, scope: Scope = GLOBAL_SCOPE) -> Role | None:
    """The highest role ``user`` holds globally or on ``scope`` itself (``viewer`` for a name nobody created)."""
    found = identity_rows.access(conn, user, scope)
    if found is None:
        return NEW_IDENTITY_ROLE
    return found.role


def require(
    conn: Connection, actor: Actor, permission: Permission, scope: Scope = GLOBAL_SCOPE, *, now_ms: int
) -> None:
    """Raise ``PermissionDenied`` unless ``actor`` holds ``permission`` on ``scope``.

    One query reads the user's disabled flag and roles together, every call: nothing is cached,
    so a revoked role or a disabled user takes effect on the very next check. A local name nobody
    created holds ``viewer`` (only a change may make the very first one the store's admin).
    """
    require_given(conn, actor, permission, scope, identity_rows.access(conn, actor.name, scope), now_ms=now_ms)


def require_given(
    conn: Connection,
    actor: Actor,
    permission: Permission,
    scope: Scope,
    found: identity_rows.Access | None,
    *,
    now_ms: int,
) -> None:
    """``require`` with the actor's access on ``scope`` already read in this transaction (by the
    statement that read the object, through ``identity_rows.access_columns``)."""
    known = found is not None
    if found is None:
        if actor.via != "local":
            raise Unauthenticated(f"unknown user {actor.name!r}")
        if permission is not Permission.READ and _provision(conn, actor, now_ms=now_ms):
            found = identity_rows.access(conn, actor.name, scope)
            known = found is not None
        if found is None:
            found = identity_rows.Access(disabled=False, role=NEW_IDENTITY_ROLE)
    if found.disabled:
        raise _disabled(actor)
    needed = PERMISSION_ROLES[permission]
    held = found.role
    if held is None or held < needed:
        has = held.label if held is not None else "no role"
        how = (
            f"users grant {actor.name} {needed.label}" if known else f"users create {actor.name} --role {needed.label}"
        )
        raise PermissionDenied(
            f"{actor.name!r} lacks the {permission.value!r} permission on {scope} "
            f"(needs role {needed.label} or higher, has {has}; an admin grants it with "
            f"`modelyard {how}`)",
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
