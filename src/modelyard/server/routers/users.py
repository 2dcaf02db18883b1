"""``/api/v1/users`` and ``/api/v1/tokens``: people, their roles, passwords and API tokens."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, status

from modelyard.domain.governance import Scope, ScopeKind
from modelyard.errors import InvalidInput
from modelyard.server.deps import BackendDep
from modelyard.server.errors import ERROR_RESPONSES
from modelyard.server.pagination import DEFAULT_PAGE, MaxResults, PageToken, page_of, paginate
from modelyard.server.schemas.governance import (
    ApiTokenOut,
    GrantIn,
    PasswordIn,
    RoleBindingOut,
    TokenCreate,
    TokenCreated,
    UserCreate,
    UserOut,
    UserWithRoles,
)

router = APIRouter(prefix="/api/v1", tags=["users"], responses=ERROR_RESPONSES)


def _scope(kind: str, scope_id: str) -> Scope:
    try:
        parsed = ScopeKind(kind)
    except ValueError:
        kinds = ", ".join(k.value for k in ScopeKind)
        raise InvalidInput(f"unknown scope kind {kind!r}; use one of {kinds}") from None
    return Scope(kind=parsed, id="" if parsed is ScopeKind.GLOBAL else scope_id)


@router.post("/users", response_model=UserOut, status_code=status.HTTP_201_CREATED)
def create_user(body: UserCreate, backend: BackendDep) -> Any:
    """Create a user, with a global role (admin only)."""
    return backend.identity.create_user(body.name, role=body.role)


@router.get("/users", response_model=page_of(UserWithRoles))
def list_users(backend: BackendDep, max_results: MaxResults = DEFAULT_PAGE, page_token: PageToken = None) -> Any:
    found = [{"user": u, "bindings": b} for u, b in backend.identity.list_users()]
    return paginate(found, max_results, page_token)


@router.put("/users/{name}/roles", response_model=RoleBindingOut)
def grant_role(name: str, body: GrantIn, backend: BackendDep) -> Any:
    """Give ``name`` a role globally or on one experiment, registered model or deployment."""
    return backend.identity.grant(name, body.role, _scope(body.scope_kind, body.scope_id))


@router.delete("/users/{name}/roles", status_code=status.HTTP_204_NO_CONTENT)
def revoke_role(
    name: str, backend: BackendDep, scope_kind: str = "global", scope_id: str = Query(default="", max_length=256)
) -> None:
    backend.identity.revoke(name, _scope(scope_kind, scope_id))


@router.put("/users/{name}/password", status_code=status.HTTP_204_NO_CONTENT)
def set_password(name: str, body: PasswordIn, backend: BackendDep) -> None:
    """Set the password a user logs in with (yourself, or anyone as admin)."""
    backend.identity.set_password(body.password, user=name)


@router.post("/tokens", response_model=TokenCreated, status_code=status.HTTP_201_CREATED)
def create_token(body: TokenCreate, backend: BackendDep) -> dict[str, Any]:
    """A new token for yourself (or another user, as admin); the secret is in this answer only."""
    token, secret = backend.identity.create_token(
        user=body.user, expires_in_days=body.expires_in_days, description=body.description
    )
    return {"token": token, "secret": secret}


@router.get("/tokens", response_model=page_of(ApiTokenOut))
def list_tokens(
    backend: BackendDep,
    user: str | None = Query(default=None, max_length=256),
    max_results: MaxResults = DEFAULT_PAGE,
    page_token: PageToken = None,
) -> Any:
    return paginate(backend.identity.list_tokens(user), max_results, page_token)


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(token_id: str, backend: BackendDep) -> None:
    backend.identity.revoke_token(token_id)
