"""Authentication holds on every route: the test walks the OpenAPI document of a real server and
calls each non-public operation without a credential, with a malformed, an expired and a revoked
token, and as a user who holds no role, and expects 401 / 403 every time; the MLflow-compatible
routes (not in the document) are walked the same way and refuse in MLflow's error shape."""

from __future__ import annotations

import base64
import re
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from modelyard.sdk.backends.local import LocalBackend
from tests._subprocess import child_env
from tests.server._running import RunningServer

PUBLIC = {"/api/v1/health", "/api/v1/auth/login"}


def _operations(server: RunningServer) -> Iterator[tuple[str, str]]:
    document = httpx.get(f"{server.url}/openapi.json").json()
    for path, item in document["paths"].items():
        if path in PUBLIC:
            continue
        for method in item:
            if method in {"get", "post", "put", "patch", "delete"}:
                yield method.upper(), re.sub(r"\{[^}]+\}", "1", path)


@pytest.fixture(scope="module")
def credentials(sqlite_server: RunningServer) -> dict[str, str]:
    """Tokens that must all be refused: expired, revoked, of a user without a role, malformed."""
    backend = LocalBackend.open(sqlite_server.store)
    try:
        identity = backend.identity
        identity.create_user("norole", role=None)
        identity.create_user("gone", role="admin")
        _, expired = identity.create_token(user="gone", expires_in_days=1 / 86_400)  # one second
        revoked_token, revoked = identity.create_token(user="gone")
        identity.revoke_token(revoked_token.id)
        _, norole = identity.create_token(user="norole")
    finally:
        backend.db.dispose()
    time.sleep(1.1)  # let the one-second token expire
    return {"expired": expired, "revoked": revoked, "norole": norole}


def test_the_document_lists_the_api(sqlite_server: RunningServer) -> None:
    operations = list(_operations(sqlite_server))
    assert len(operations) > 50
    assert ("POST", "/api/v1/runs") in operations and ("PUT", "/api/v1/runs/1/artifacts/1") in operations


@pytest.mark.parametrize("case", ["none", "malformed", "expired", "revoked", "norole", "basic-wrong-password"])
def test_every_non_public_route_refuses(sqlite_server: RunningServer, credentials: dict[str, str], case: str) -> None:
    headers = {
        "none": {},
        "malformed": {"authorization": "Bearer not-a-token"},
        "expired": {"authorization": f"Bearer {credentials['expired']}"},
        "revoked": {"authorization": f"Bearer {credentials['revoked']}"},
        "norole": {"authorization": f"Bearer {credentials['norole']}"},
        "basic-wrong-password": {"authorization": "Basic " + base64.b64encode(b"admin:guess-guess").decode()},
    }[case]
    expected = 403 if case == "norole" else 401
    wrong = []
    with httpx.Client(base_url=sqlite_server.url, headers=headers) as client:
        for method, path in _operations(sqlite_server):
            response = client.request(method, path, json={})
            body = response.json()
            if response.status_code != expected or set(body) != {"code", "message", "details"}:
                wrong.append((method, path, response.status_code, body))
    assert wrong == []


def _mlflow_operations() -> Iterator[tuple[str, str]]:
    """The MLflow-compatible routes (the server's own document leaves them to MLflow's reference),
    read from the OpenAPI document FastAPI generates for their router, and their web UI twins."""
    from fastapi import FastAPI

    from modelyard.server.mlflow_compat import router

    app = FastAPI()
    app.include_router(router)
    for path, item in app.openapi()["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        for method in item:
            yield method.upper(), concrete
            yield method.upper(), concrete.replace("/api/", "/ajax-api/", 1)


@pytest.mark.parametrize("case", ["none", "expired", "revoked", "norole"])
def test_every_mlflow_route_refuses_in_mlflows_shape(
    sqlite_server: RunningServer, credentials: dict[str, str], case: str
) -> None:
    headers = {} if case == "none" else {"authorization": f"Bearer {credentials[case]}"}
    expected = (403, "PERMISSION_DENIED") if case == "norole" else (401, "UNAUTHENTICATED")
    operations = sorted(set(_mlflow_operations()))
    assert len(operations) > 90 and ("POST", "/api/2.0/mlflow/runs/create") in operations
    wrong = []
    with httpx.Client(base_url=sqlite_server.url, headers=headers) as client:
        for method, path in operations:
            response = client.request(method, path, json={})
            body = response.json()
            if (response.status_code, body.get("error_code")) != expected or set(body) != {"error_code", "message"}:
                wrong.append((method, path, response.status_code, body))
    assert wrong == []


def test_the_admin_token_works_as_bearer_and_as_basic_password(sqlite_server: RunningServer) -> None:
    bearer = {"authorization": f"Bearer {sqlite_server.admin_token}"}
    basic = {"authorization": "Basic " + base64.b64encode(f"anyone:{sqlite_server.admin_token}".encode()).decode()}
    for headers in (bearer, basic):
        found = httpx.get(f"{sqlite_server.url}/api/v1/auth/whoami", headers=headers).json()
        assert found["user"] == "admin" and found["role"] == "admin"


def test_password_login_sets_a_session_cookie_that_needs_the_csrf_header_to_write(sqlite_server: RunningServer) -> None:
    admin = {"authorization": f"Bearer {sqlite_server.admin_token}"}
    httpx.post(f"{sqlite_server.url}/api/v1/users", json={"name": "carol", "role": "contributor"}, headers=admin)
    assert (
        httpx.put(
            f"{sqlite_server.url}/api/v1/users/carol/password", json={"password": "a long secret"}, headers=admin
        ).status_code
        == 204
    )
    with httpx.Client(base_url=sqlite_server.url) as browser:
        assert browser.post("/api/v1/auth/login", json={"username": "carol", "password": "nope"}).status_code == 401
        login = browser.post("/api/v1/auth/login", json={"username": "carol", "password": "a long secret"})
        assert login.status_code == 200 and "modelyard_session" in browser.cookies
        assert login.headers["set-cookie"].lower().count("httponly") == 1
        assert browser.get("/api/v1/auth/whoami").json()["user"] == "carol"
        assert browser.post("/api/v1/experiments", json={"name": "by-cookie"}).status_code == 401
        made = browser.post("/api/v1/experiments", json={"name": "by-cookie"}, headers={"x-modelyard-csrf": "1"})
        assert made.status_code == 201
        assert browser.post("/api/v1/auth/logout", headers={"x-modelyard-csrf": "1"}).status_code == 204
    with httpx.Client(base_url=sqlite_server.url, cookies={"modelyard_session": login.json()["token"]}) as replay:
        assert replay.get("/api/v1/auth/whoami").status_code == 401  # the session was revoked


def test_auth_none_refuses_to_listen_beyond_loopback(sqlite_server: RunningServer) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "modelyard", "server", "--auth", "none", "--host", "0.0.0.0"],
        env=child_env(sqlite_server.store), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2 and "only binds 127.0.0.1" in done.stderr
