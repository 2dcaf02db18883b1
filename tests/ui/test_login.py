"""The UI behind the team server: pages redirect to a login, a password gives a session cookie,
forms are accepted only from this server's own pages, and each user sees and does what their
role allows."""

from __future__ import annotations

from fastapi.testclient import TestClient

from modelyard.server import create_app
from tests.ui.conftest import ADMIN, APPROVER, VIEWER, World

PASSWORD = "correct horse battery"


def _server(world: World) -> TestClient:
    admin = world.backend(ADMIN)
    for user in (APPROVER, VIEWER):
        admin.identity.set_password(PASSWORD, user=user)
    return TestClient(create_app(world.settings), follow_redirects=False)


def test_pages_ask_for_a_login_and_a_password_opens_them(world: World) -> None:
    client = _server(world)
    answer = client.get("/models/churn")
    assert answer.status_code == 303 and answer.headers["location"] == "/login?next=%2Fmodels%2Fchurn"
    assert client.get("/api/v1/experiments").status_code == 401  # the API answers 401, it does not redirect
    assert client.get("/login").status_code == 200

    wrong = client.post("/login", data={"username": VIEWER, "password": "nope", "next": "/models/churn"})
    assert wrong.status_code == 303 and "error=" in wrong.headers["location"]
    assert "modelyard_session" not in wrong.cookies

    right = client.post("/login", data={"username": VIEWER, "password": PASSWORD, "next": "/models/churn"})
    assert right.status_code == 303 and right.headers["location"] == "/models/churn"
    page = client.get("/models/churn")
    assert page.status_code == 200 and f"{VIEWER} · viewer" in page.text

    offsite = client.post("/login", data={"username": VIEWER, "password": PASSWORD, "next": "https://evil.example"})
    assert offsite.headers["location"] == "/"


def test_forms_need_this_servers_origin_and_the_role(world: World) -> None:
    client = _server(world)
    client.post("/login", data={"username": APPROVER, "password": PASSWORD})
    pending = [r.id for r in world.backend(APPROVER).approvals.list(status="pending")]
    target = f"/approvals/{pending[0]}/reject" if pending else "/approvals/999999/reject"

    forged = client.post(target, data={"comment": "from another site"}, headers={"origin": "https://evil.example"})
    assert forged.status_code == 401
    no_origin = client.post(target, data={"comment": "no origin"})
    assert no_origin.status_code == 401

    viewer = _server(world)
    viewer.post("/login", data={"username": VIEWER, "password": PASSWORD})
    refused = viewer.post(target, data={"comment": "me"}, headers={"origin": "http://testserver"})
    assert refused.status_code in (403, 404)  # a viewer may not decide (404 when nothing is pending)
    assert "PermissionDenied" in refused.text or "NotFound" in refused.text
    if pending:
        assert world.backend(APPROVER).approvals.get(pending[0]).status.value == "pending"


def test_logout_revokes_the_session(world: World) -> None:
    client = _server(world)
    client.post("/login", data={"username": VIEWER, "password": PASSWORD})
    cookie = client.cookies.get("modelyard_session")
    assert cookie and client.get("/experiments").status_code == 200
    out = client.post("/logout", headers={"origin": "http://testserver"})
    assert out.status_code == 303 and out.headers["location"] == "/login"
    replay = TestClient(create_app(world.settings), follow_redirects=False, cookies={"modelyard_session": cookie})
    assert replay.get("/experiments").status_code == 303  # the token behind the cookie is revoked
