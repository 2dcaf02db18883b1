"""Login and logout for people, when the UI is served by the team server.

The password is checked by the identity service (Argon2id) and exchanged for a session token,
set as an HttpOnly, SameSite=strict cookie; the server's auth middleware reads it on every later
request. ``modelyard ui`` on a laptop has no login: it acts as the configured user.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from modelyard.errors import PermissionDenied, Unauthenticated
from modelyard.ui._render import backend_of, templates

router = APIRouter()

SESSION_COOKIE = "modelyard_session"  # the server's auth middleware reads this cookie


def _safe_next(target: str) -> str:
    """Only a path on this site: never an absolute URL another site could be sent to."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


@router.get("/login")
def login_form(request: Request, next: str = "/", error: str = "") -> HTMLResponse:
    context = {"next": _safe_next(next), "error": error, "me": {"name": ""}, "nav": (), "can": {}}
    return templates.TemplateResponse(request, "login.html", context, status_code=401 if error else 200)


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> RedirectResponse:
    try:
        token, secret = backend_of(request).identity.login(username, password)
    except (Unauthenticated, PermissionDenied) as exc:
        query = urlencode({"next": _safe_next(next), "error": exc.message})
        return RedirectResponse(f"/login?{query}", status_code=303)
    answer = RedirectResponse(_safe_next(next), status_code=303)
    max_age = None if token.expires_ms is None else (token.expires_ms - token.created_ms) // 1000
    secure = request.url.scheme == "https"
    answer.set_cookie(SESSION_COOKIE, secret, max_age=max_age, httponly=True, samesite="strict", secure=secure)
    return answer


@router.post("/logout")
def logout(request: Request) -> RedirectResponse:
    """Revoke this session's token and forget the cookie."""
    parts = request.cookies.get(SESSION_COOKIE, "").split("_", 2)
    if len(parts) == 3:
        backend_of(request).identity.revoke_token(parts[1])
    answer = RedirectResponse("/login", status_code=303)
    answer.delete_cookie(SESSION_COOKIE, path="/")
    return answer
