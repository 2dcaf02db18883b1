"""``modelyard server --workers 2``: two processes share the port (one SO_REUSEPORT socket each),
every one of them authenticates and answers, and every connection each of them accepts has
``TCP_NODELAY`` on (without it a keep-alive client waits ~40 ms a call on a delayed ACK)."""

from __future__ import annotations

import ctypes
import os
import socket
from pathlib import Path

import httpx
import pytest

from tests.server._running import running_server
from tests.server.conftest import server_store

_SYS_PIDFD_GETFD = 438  # Linux >= 5.6, the same number on x86-64 and arm64


def _accepted_connections(pid: int, port: int) -> list[int]:
    """``TCP_NODELAY`` of every connection process ``pid`` accepted on ``port``, read from a
    duplicate of its socket (``pidfd_getfd``), not from anything the server reports."""
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    flags: list[int] = []
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                if not os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:"):
                    continue
            except FileNotFoundError:
                continue
            copy = libc.syscall(_SYS_PIDFD_GETFD, pidfd, int(fd), 0)
            if copy < 0:
                raise OSError(ctypes.get_errno(), f"pidfd_getfd({pid}, {fd})")
            with socket.socket(fileno=copy) as sock:
                if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.type != socket.SOCK_STREAM:
                    continue
                try:
                    sock.getpeername()
                except OSError:
                    continue  # the listening socket
                if sock.getsockname()[1] == port:
                    flags.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
    finally:
        os.close(pidfd)
    return flags


def test_two_workers_answer_authenticated_requests_on_one_port_with_nodelay(tmp_path: Path) -> None:
    if not hasattr(os, "pidfd_open") or not Path("/proc/self/fd").exists():
        pytest.skip("needs Linux pidfds to read the workers' sockets")
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

        workers = [
            int(p) for p in Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children").read_text().split()
        ]
        assert len(workers) == 2
        port = int(server.url.rsplit(":", 1)[1])
        clients = [httpx.Client(headers=headers) for _ in range(24)]  # kept alive, held open together
        try:
            seen: dict[int, list[int]] = {}
            for client in clients:
                assert client.get(f"{server.url}/api/v1/experiments/{experiment}").status_code == 200
            for pid in workers:
                seen[pid] = _accepted_connections(pid, port)
        finally:
            for client in clients:
                client.close()
        assert all(seen.values()), f"a worker accepted no connection: {seen}"  # both workers are checked
        assert {flag != 0 for flags in seen.values() for flag in flags} == {True}, seen
