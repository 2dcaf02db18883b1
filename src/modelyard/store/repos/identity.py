"""Users, role bindings and API tokens (only the salted hash of a token's secret is stored)."""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import Connection, Label, Row, and_, bindparam, delete, func, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from modelyard.domain.governance import ApiToken, Role, RoleBinding, Scope, ScopeKind, User
from modelyard.store.repos._upsert import upsert
from modelyard.store.tables.governance import api_tokens, role_bindings, users


def insert_user(conn: Connection, name: str, *, now_ms: int) -> None:
    conn.execute(users.insert().values(name=name, created_ms=now_ms, disabled=False))


def set_password_hash(conn: Connection, name: str, password_hash: str | None) -> bool:
    result = conn.execute(update(users).where(users.c.name == name).values(password_hash=password_hash))
    return bool(result.rowcount)


def get_password_hash(conn: Connection, name: str) -> str | None:
    """The user's Argon2id password hash; None for an unknown user or one without a password."""
    value = conn.execute(select(users.c.password_hash).where(users.c.name == name)).scalar_one_or_none()
    return None if value is None else str(value)


def has_binding(conn: Connection, name: str) -> bool:
    """Whether ``name`` holds any role, on any scope."""
    found = conn.execute(select(role_bindings.c.role).where(role_bindings.c.user_name == name).limit(1)).first()
    return found is not None


def get_user(conn: Connection, name: str) -> User | None:
    row = conn.execute(select(users).where(users.c.name == name)).first()
    return None if row is None else User(name=row.name, created_ms=int(row.created_ms), disabled=bool(row.disabled))


class Access(NamedTuple):
    """What a permission check needs of a known user, read in one round trip."""

    disabled: bool
    role: Role | None  # the highest of the global binding and the binding on the asked scope


ACCESS_USER = "b_access_user"  # the bound parameter ``access_columns`` reads the user from


def access_columns(
    scope_kind: ScopeKind | ColumnElement[str], scope_id: ColumnElement[str]
) -> tuple[Label[bool], Label[int]]:
    """``Access`` as two scalar subqueries (the user's disabled flag; the highest of their global
    binding and their binding on the scope), the one statement of the rule. Added to the statement
    that reads the object a permission is asked on (``scope_id`` is that object's id column; the
    user is bound as ``ACCESS_USER``), the check rides on a round trip the service makes anyway.
    Read them back with ``access_of``."""
    kind = scope_kind.value if isinstance(scope_kind, ScopeKind) else scope_kind
    disabled = select(users.c.disabled).where(users.c.name == bindparam(ACCESS_USER)).scalar_subquery()
    role = (
        select(func.max(role_bindings.c.role))
        .where(
            role_bindings.c.user_name == bindparam(ACCESS_USER),
            or_(
                role_bindings.c.scope_kind == ScopeKind.GLOBAL.value,
                and_(role_bindings.c.scope_kind == kind, role_bindings.c.scope_id == scope_id),
            ),
        )
        .scalar_subquery()
    )
    return disabled.label("access_disabled"), role.label("access_role")


def access_of(row: Any) -> Access | None:
    """The ``Access`` in a row read with ``access_columns``; None for an unknown user."""
    if row.access_disabled is None:
        return None
    return Access(disabled=bool(row.access_disabled), role=None if row.access_role is None else Role(row.access_role))


# Built once: a statement object reused with bound parameters skips SQLAlchemy's per-call
# construction and cache-key work, which cost as much as the query itself on every check.
_ACCESS = select(*access_columns(bindparam("scope_kind"), bindparam("scope_id")))


def access(conn: Connection, user: str, scope: Scope) -> Access | None:
    """The user's disabled flag and highest role globally or on ``scope``; None for an unknown user."""
    row = conn.execute(_ACCESS, {ACCESS_USER: user, "scope_kind": scope.kind.value, "scope_id": scope.id}).one()
    return access_of(row)


def list_users(conn: Connection) -> list[User]:
    rows = conn.execute(select(users).order_by(users.c.name))
    return [User(name=r.name, created_ms=int(r.created_ms), disabled=bool(r.disabled)) for r in rows]


def count_users(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(users)).scalar_one())


def bind(conn: Connection, binding: RoleBinding) -> None:
    upsert(
        conn,
        role_bindings,
        [
            {
                "user_name": binding.user,
                "scope_kind": binding.scope.kind.value,
                "scope_id": binding.scope.id,
                "role": int(binding.role),
                "created_ms": binding.created_ms,
            }
        ],
        keys=["user_name", "scope_kind", "scope_id"],
        update=["role", "created_ms"],
    )


def unbind(conn: Connection, user: str, scope: Scope) -> bool:
    result = conn.execute(
        delete(role_bindings).where(
            role_bindings.c.user_name == user,
            role_bindings.c.scope_kind == scope.kind.value,
            role_bindings.c.scope_id == scope.id,
        )
    )
    return bool(result.rowcount)


def bindings(conn: Connection, user: str | None = None) -> list[RoleBinding]:
    query = select(role_bindings).order_by(role_bindings.c.user_name, role_bindings.c.scope_kind)
    if user is not None:
        query = query.where(role_bindings.c.user_name == user)
    return [
        RoleBinding(
            user=r.user_name,
            role=Role(int(r.role)),
            scope=Scope(kind=ScopeKind(r.scope_kind), id=r.scope_id),
            created_ms=int(r.created_ms),
        )
        for r in conn.execute(query)
    ]


def insert_token(conn: Connection, token: ApiToken, *, secret_hash: str) -> None:
    conn.execute(
        api_tokens.insert().values(
            token_id=token.id,
            user_name=token.user,
            secret_hash=secret_hash,
            description=token.description,
            created_ms=token.created_ms,
            expires_ms=token.expires_ms,
            revoked_ms=None,
        )
    )


def get_token(conn: Connection, token_id: str) -> tuple[ApiToken, str] | None:
    """The token's record and its stored hash, for ``authenticate`` to verify against."""
    row = conn.execute(select(api_tokens).where(api_tokens.c.token_id == token_id)).first()
    return None if row is None else (_token(row), str(row.secret_hash))


def list_tokens(conn: Connection, user: str | None = None) -> list[ApiToken]:
    query = select(api_tokens).order_by(api_tokens.c.created_ms)
    if user is not None:
        query = query.where(api_tokens.c.user_name == user)
    return [_token(r) for r in conn.execute(query)]


def revoke_token(conn: Connection, token_id: str, *, now_ms: int) -> bool:
    result = conn.execute(
        update(api_tokens)
        .where(api_tokens.c.token_id == token_id, api_tokens.c.revoked_ms.is_(None))
        .values(revoked_ms=now_ms)
    )
    return bool(result.rowcount)


def _token(row: Row) -> ApiToken:  # type: ignore[type-arg]
    return ApiToken(
        id=row.token_id,
        user=row.user_name,
        created_ms=int(row.created_ms),
        expires_ms=None if row.expires_ms is None else int(row.expires_ms),
        revoked_ms=None if row.revoked_ms is None else int(row.revoked_ms),
        description=row.description,
    )
