"""Slow, idle and hung-up clients against a real server: they are cut off or counted apart, and
nobody else is locked out; /metrics labels only what the server serves."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families

from modelyard.serving import ServingPlan, create_app
from modelyard.serving.limits import ServerLimits
from modelyard.serving.requests_log import QueueRequestLogger
from modelyard.serving.runner import RunningServer, start_in_thread
from tests.serving.conftest import rows

PREDICT = "/v1/deployments/churn/predict"


@pytest.fixture
def log() -> QueueRequestLogger:
    return QueueRequestLogger(1000)


@pytest.fixture
def server(single_plan: ServingPlan, log: QueueRequestLogger) -> Iterator[RunningServer]:
    running = start_in_thread(
        create_app(single_plan, request_logger=log), limits=ServerLimits(header_timeout_s=0.5, max_connections=20)
    )
    yield running
    running.stop()


def _connect(server: RunningServer) -> socket.socket:
    parts = urlsplit(server.url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=60)
    return sock


def _closed_by_server(sock: socket.socket) -> bool:
    """Whether the server closed ``sock`` (blocks until it does, or the 60 s guard passes)."""
    try:
        return sock.recv(1024) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_a_connection_that_never_sends_its_request_head_is_closed(server: RunningServer) -> None:
    idle = _connect(server)
    slow = _connect(server)
    slow.sendall(b"POST /v1/deployments/churn/predict HTTP/1.1\r\nHost: x\r\n")  # never finishes the head
    try:
        assert _closed_by_server(idle)
        assert _closed_by_server(slow)
    finally:
        idle.close()
        slow.close()


def _read_response(sock: socket.socket) -> bytes:
    """One whole response (head and Content-Length body) from ``sock``."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        assert chunk, data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
    )
    while len(body) < length:
        chunk = sock.recv(4096)
        assert chunk, data
        body += chunk
    return head


def test_a_keep_alive_connection_that_stalls_in_its_next_request_head_is_closed(server: RunningServer) -> None:
    """The head deadline applies to every request of a connection, not only its first: a client
    that sends one request, then a few bytes of the next (which cancel the keep-alive timer) and
    nothing more, used to hold its connection for ever."""
    sock = _connect(server)
    try:
        sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _read_response(sock).startswith(b"HTTP/1.1 200")
        sock.sendall(b"POST /v1/deployments/churn/predict HTTP/1.1\r\nHost: x\r\n")  # never finishes
        sock.settimeout(20)  # the deadline is 0.5 s; uvicorn's keep-alive timer alone would wait forever
        assert _closed_by_server(sock)
    finally:
        sock.close()


def test_a_busy_keep_alive_connection_is_not_cut_by_the_head_deadline(server: RunningServer) -> None:
    """Requests that keep coming on one connection each get their own deadline: the connection
    serves well past the first one."""
    sock = _connect(server)
    try:
        until = time.monotonic() + 2.0  # four head deadlines of 0.5 s
        served = 0
        while time.monotonic() < until:
            sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            assert _read_response(sock).startswith(b"HTTP/1.1 200")  # fails if the server closed it
            served += 1
            time.sleep(0.1)
        assert served > 5
    finally:
        sock.close()


def test_connections_over_the_cap_are_closed_and_the_others_still_served(
    server: RunningServer, frame: pd.DataFrame
) -> None:
    with httpx.Client(base_url=server.url) as http:  # one keep-alive connection, opened first
        assert http.post(PREDICT, json=rows(frame, 1)).status_code == 200
        held = [_connect(server) for _ in range(19)]  # the cap is 20 connections
        try:
            extra = _connect(server)
            assert _closed_by_server(extra)
            assert http.post(PREDICT, json=rows(frame, 1)).status_code == 200
        finally:
            for sock in held:
                sock.close()


def test_a_client_hanging_up_mid_body_is_counted_as_499_not_as_a_server_error(
    server: RunningServer, log: QueueRequestLogger
) -> None:
    sock = _connect(server)
    sock.sendall(
        b"POST /v1/deployments/churn/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Content-Length: 1000\r\nx-request-id: gone\r\n\r\n[{"x1": 1'
    )
    sock.close()
    with httpx.Client(base_url=server.url) as http:
        samples = []
        for _ in range(600):  # the server notices the hang-up on its own schedule
            samples = [s for f in text_string_to_metric_families(http.get("/metrics").text) for s in f.samples]
            if any(s.labels.get("status") == "499" for s in samples):
                break
            time.sleep(0.05)
    statuses = {s.labels["status"]: s.value for s in samples if s.name == "modelyard_requests_total"}
    assert statuses.get("499") == 1.0
    assert "500" not in statuses
    kinds = {s.labels["kind"] for s in samples if s.name == "modelyard_request_errors_total"}
    assert kinds == {"client_closed"}
    logged = [r for r in log.drain() if r.request_id == "gone"]
    assert [(r.status, r.error) for r in logged] == [(499, "client_closed")]


def test_a_stalled_body_gets_408(single_plan: ServingPlan, monkeypatch: pytest.MonkeyPatch) -> None:
    import modelyard.serving.http as http_module

    monkeypatch.setattr(http_module.read_body, "__defaults__", (0.5,))
    running = start_in_thread(create_app(single_plan))
    try:
        sock = _connect(running)
        sock.sendall(
            b"POST /v1/deployments/churn/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n[{"
        )
        answer = sock.recv(4096)
        sock.close()
    finally:
        running.stop()
    assert answer.startswith(b"HTTP/1.1 408")


def test_metrics_label_only_deployments_the_server_serves(server: RunningServer, frame: pd.DataFrame) -> None:
    with httpx.Client(base_url=server.url) as http:
        for index in range(20):
            assert http.post(f"/v1/deployments/made-up-{index}/predict", json=rows(frame, 1)).status_code == 404
            assert http.post(f"/v2/models/made-up-{index}/infer", json={"inputs": []}).status_code == 404
        text = http.get("/metrics").text
    assert "made-up" not in text
    deployments = {s.labels.get("deployment") for f in text_string_to_metric_families(text) for s in f.samples} - {None}
    assert deployments <= {"churn", "-"}
