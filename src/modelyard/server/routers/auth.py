"""``/api/v1/auth``: password login for people (a session cookie), logout, and who am I."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from modelyard.server.auth import SESSION_COOKIE, current_actor
from modelyard.server.deps import BackendDep
from modelyard.server.errors import ERROR_RESPONSES
from modelyard.server.schemas.governance import LoginIn, SessionOut, WhoAmI

router = APIRouter(prefix="/api/v1/auth", tags=["auth"], responses=ERROR_RESPONSES)


@router.post("/login", response_model=SessionOut)
def login(body: LoginIn, request: Request, response: Response, backend: BackendDep) -> SessionOut:
    """Exchange a user name and password (Argon2id) for a session token, also set as an HttpOnly
    cookie; a cookie-authenticated write must send ``x-modelyard-csrf: 1``."""
    token, secret = backend.identity.login(body.username, body.password)
    max_age = None if token.expires_ms is None else (token.expires_ms - token.created_ms) // 1000
    response.set_cookie(
        SESSION_COOKIE, secret, max_age=max_age, httponly=True, samesite="strict",
        secure=request.url.scheme == "https", path="/",
    )  # fmt: skip
    return SessionOut(user=token.user, token=secret, expires_ms=token.expires_ms)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(request: Request, response: Response, backend: BackendDep) -> None:
    """Revoke the session the cookie (or bearer token) carries."""
    credential = request.cookies.get(SESSION_COOKIE) or request.headers.get("authorization", "").partition(" ")[2]
    parts = credential.strip().split("_", 2)
    if len(parts) == 3:
        backend.identity.revoke_token(parts[1])
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.get("/whoami", response_model=WhoAmI)
def whoami(backend: BackendDep) -> WhoAmI:
    actor, role = backend.identity.whoami()
    return WhoAmI(user=actor.name, via=current_actor().via, role=role.label if role is not None else None)
