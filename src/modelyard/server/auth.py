"""Who is calling: every request to a non-public path is authenticated before any route runs.

The actor is the user of a verified credential, never a header or variable the client sets:
- ``Authorization: Bearer myd_…`` (an API token, or the session token a login returned);
- ``Authorization: Basic`` with a token as the password (what the ``mlflow`` client sends when
  ``MLFLOW_TRACKING_USERNAME``/``PASSWORD`` are set), or a user name and their password;
- the ``modelyard_session`` cookie a password login sets (for the web UI); a cookie-authenticated
  request that changes something must also carry ``x-modelyard-csrf: 1`` (a header another site's
  page cannot add without the server's consent) or, for the web UI's plain HTML forms, an
  ``Origin`` naming this very server (browsers send it on every form POST): a cookie alone cannot
  be ridden from another site. The cookie is SameSite=strict besides.

A web page asked for without a credential is answered with a redirect to ``/login``; an API call
with 401 and the one error shape.

The middleware stores the actor in a context variable; the services' ``ActorProvider`` reads it
(``current_actor``), so permission checks stay in the services and run as in embedded mode.
``AuthMode.NONE`` (a single-user laptop) acts as ``Settings.user`` without any credential.
"""

from __future__ import annotations

import base64
import binascii
import contextvars
import enum
import json
from urllib.parse import urlencode

import anyio.to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

from modelyard.domain.governance import Actor
from modelyard.errors import ModelyardError, Unauthenticated
from modelyard.governance import IdentityService
from modelyard.governance.identity import TOKEN_PREFIX

SESSION_COOKIE = "modelyard_session"
CSRF_HEADER = "x-modelyard-csrf"
PUBLIC_PATHS = frozenset(
    {"/api/v1/health", "/api/v1/auth/login", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/login"}
)
_PUBLIC_PREFIXES = ("/ui/static/",)
_API_PREFIXES = ("/api/", "/ajax-api/")
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_current: contextvars.ContextVar[Actor | None] = contextvars.ContextVar("modelyard_actor", default=None)


class AuthMode(enum.StrEnum):
    TOKEN = "token"  # bearer tokens, Basic (token or password), session cookies
    NONE = "none"  # no credentials: everyone is Settings.user; loopback only


def current_actor() -> Actor:
    """The authenticated actor of the request being handled (the services' ``ActorProvider``)."""
    actor = _current.get()
    if actor is None:
        raise Unauthenticated("no authenticated user for this request")
    return actor


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(_PUBLIC_PREFIXES)


def is_api(path: str) -> bool:
    """API routes answer JSON; every other path is a web page (the UI)."""
    return path.startswith(_API_PREFIXES) or path in ("/openapi.json", "/docs")


class AuthMiddleware:
    """ASGI middleware: authenticate, then run the app with the actor set; 401/403 otherwise."""

    def __init__(self, app: ASGIApp, identity: IdentityService, *, mode: AuthMode, local_user: str) -> None:
        self.app = app
        self.identity = identity
        self.mode = mode
        self.local_actor = Actor(name=local_user, via="local")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.mode is AuthMode.NONE:
            actor: Actor | None = self.local_actor
        elif is_public(scope["path"]):
            actor = None
        else:
            try:
                actor = await anyio.to_thread.run_sync(self._authenticate, scope)
            except ModelyardError as exc:
                if exc.http_status == 401 and scope["method"] in _SAFE_METHODS and not is_api(scope["path"]):
                    await _to_login(send, scope)
                else:
                    await _refuse(send, exc, scope["path"])
                return
        if actor is not None:  # what routes read as ``request.state.actor`` (the MLflow API's run owner)
            scope.setdefault("state", {})["actor"] = actor
        token = _current.set(actor)
        try:
            await self.app(scope, receive, send)
        finally:
            _current.reset(token)

    def _authenticate(self, scope: Scope) -> Actor:
        headers = dict(scope["headers"])
        authorization = headers.get(b"authorization", b"").decode("latin-1").strip()
        if authorization:
            kind, _, credential = authorization.partition(" ")
            credential = credential.strip()
            if kind.lower() == "bearer" and credential:
                return self.identity.authenticate(credential)
            if kind.lower() == "basic" and credential:
                user, password = _basic(credential)
                if password.startswith(f"{TOKEN_PREFIX}_"):
                    return self.identity.authenticate(password)
                return self.identity.check_password(user, password)
            raise Unauthenticated("unsupported Authorization header: use 'Bearer <token>' or Basic")
        cookie = _cookie(headers.get(b"cookie", b"").decode("latin-1"), SESSION_COOKIE)
        if cookie:
            if scope["method"] not in _SAFE_METHODS and not _same_origin_or_header(headers):
                raise Unauthenticated(
                    f"a session cookie on a {scope['method']} request needs the {CSRF_HEADER}: 1 header "
                    "or an Origin of this server"
                )
            return self.identity.authenticate(cookie)
        raise Unauthenticated("authentication required: send 'Authorization: Bearer <token>'")


def _same_origin_or_header(headers: dict[bytes, bytes]) -> bool:
    if headers.get(CSRF_HEADER.encode()) == b"1":
        return True
    origin = headers.get(b"origin", b"").decode("latin-1")
    host = headers.get(b"host", b"").decode("latin-1")
    return bool(origin and host) and origin.split("://", 1)[-1] == host


async def _to_login(send: Send, scope: Scope) -> None:
    query = scope.get("query_string", b"").decode("latin-1")
    target = scope["path"] + (f"?{query}" if query else "")
    location = "/login?" + urlencode({"next": target})
    headers = [(b"location", location.encode("latin-1")), (b"content-length", b"0")]
    await send({"type": "http.response.start", "status": 303, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


def _basic(credential: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(credential, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthenticated("malformed Basic credentials") from None
    user, sep, password = decoded.partition(":")
    if not sep:
        raise Unauthenticated("malformed Basic credentials")
    return user, password


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name and value:
            return value
    return None


_MLFLOW_PREFIXES = ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow", "/api/3.0/mlflow")
_MLFLOW_CODES = {401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 503: "TEMPORARILY_UNAVAILABLE"}


async def _refuse(send: Send, exc: ModelyardError, path: str) -> None:
    """The refusal in the API's one error shape, or in MLflow's on the MLflow-compatible paths (the
    ``mlflow`` client reads ``error_code``, and would call anything else an ``INTERNAL_ERROR``)."""
    if path.startswith(_MLFLOW_PREFIXES):
        code = _MLFLOW_CODES.get(exc.http_status, "INTERNAL_ERROR")
        body = json.dumps({"error_code": code, "message": exc.message}).encode()
    else:
        body = json.dumps({"code": type(exc).__name__, "message": exc.message, "details": {}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if exc.http_status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="modelyard"'))
    await send({"type": "http.response.start", "status": exc.http_status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
