"""Two ways of starting ``modelyard server`` that change what a request may do: ``--auth none``
(a single-user laptop: says so loudly, acts as the local user whatever the client claims) and
``--timeout`` (a request still running then, such as a client that stalls mid-body, is answered
503 and the server keeps serving)."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx

from tests.server._running import ADMIN, running_server
from tests.server.conftest import server_store


def test_auth_none_says_so_and_acts_as_the_local_user(tmp_path: Path) -> None:
    store = server_store(tmp_path, f"sqlite:///{tmp_path / 'laptop.db'}")
    with running_server(store, "--auth", "none") as server:
        banner = " ".join(server.log.read_text().split())  # however the console wrapped it
        assert "WARNING: --auth none: NO AUTHENTICATION" in banner and f"acts as '{ADMIN}'" in banner
        assert "127.0.0.1 only" in banner
        api = f"{server.url}/api/v1"
        assert httpx.get(f"{api}/auth/whoami").json()["user"] == ADMIN  # no credential needed
        experiment = httpx.post(f"{api}/experiments", json={"name": "laptop"}).json()["experiment_id"]
        made = httpx.post(
            f"{api}/runs",
            json={"experiment_id": experiment, "user": "mallory"},
            headers={"x-modelyard-user": "mallory"},
        )
        assert made.status_code == 201 and made.json()["info"]["user"] == ADMIN
        mlflow_run = httpx.post(
            f"{server.url}/api/2.0/mlflow/runs/create", json={"experiment_id": experiment, "user_id": "mallory"}
        )
        assert mlflow_run.json()["run"]["info"]["user_id"] == ADMIN


def test_a_request_that_outlives_the_timeout_is_503_and_the_server_carries_on(tmp_path: Path) -> None:
    store = server_store(tmp_path, f"sqlite:///{tmp_path / 'timeout.db'}")
    with running_server(store, "--timeout", "1") as server:
        host, port = server.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=60) as stalled:
            stalled.sendall(
                b"POST /api/v1/experiments HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                + f"authorization: Bearer {server.admin_token}\r\ncontent-length: 100\r\n\r\n".encode()
                + b'{"name": "st'  # ... and never the rest
            )
            answer = b""
            while b"}" not in answer:  # the status line, the headers, then the JSON error
                chunk = stalled.recv(4096)
                if not chunk:
                    break
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 503"), answer[:200]
        assert b'"code":"BackendUnavailable"' in answer.replace(b" ", b""), answer
        headers = {"authorization": f"Bearer {server.admin_token}"}
        assert (
            httpx.post(f"{server.url}/api/v1/experiments", json={"name": "after"}, headers=headers).status_code == 201
        )
        assert (
            httpx.get(f"{server.url}/api/v1/experiments/by-name", params={"name": "st"}, headers=headers).status_code
            == 404
        )
