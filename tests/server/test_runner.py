"""``modelyard server --workers 2``: two processes share the port (one SO_REUSEPORT socket each)
and every one of them authenticates and answers."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.server._running import running_server
from tests.server.conftest import server_store


def test_two_workers_answer_authenticated_requests_on_one_port(tmp_path: Path) -> None:
    store = server_store(tmp_path, f"sqlite:///{tmp_path / 'workers.db'}")
    with running_server(store, workers=2) as server:
        headers = {"authorization": f"Bearer {server.admin_token}"}
        made = httpx.post(f"{server.url}/api/v1/experiments", json={"name": "shared"}, headers=headers)
        assert made.status_code == 201
        experiment = made.json()["experiment_id"]
        for _ in range(20):  # a new connection each time: the kernel spreads them across both workers
            with httpx.Client(headers=headers) as client:
                assert client.get(f"{server.url}/api/v1/experiments/{experiment}").json()["name"] == "shared"
            assert httpx.get(f"{server.url}/api/v1/experiments/{experiment}").status_code == 401
