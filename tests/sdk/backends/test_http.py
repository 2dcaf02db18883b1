"""The remote backend's transport: retries a call whose connection could not be opened (a server
still starting), never retries a 5xx, and raises the exception class the server's error names."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from modelyard.errors import ApprovalPending, BackendUnavailable, Conflict, InvalidInput, ModelyardError
from modelyard.sdk.backends._http import Transport
from tests._subprocess import free_port as _free_port


class _Answers(BaseHTTPRequestHandler):
    status = 200
    body: dict[str, object] = {"ok": True}
    calls = 0

    def _answer(self) -> None:
        type(self).calls += 1
        data = json.dumps(self.body).encode()
        self.send_response(self.status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


@contextmanager
def _serving(handler: type[BaseHTTPRequestHandler], port: int, delay: float = 0.0) -> Iterator[None]:
    """``handler`` answering on ``port``, from ``delay`` seconds on (refused until then)."""
    holder: list[ThreadingHTTPServer] = []

    def start() -> None:
        time.sleep(delay)
        server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        holder.append(server)
        server.serve_forever(poll_interval=0.05)

    thread = threading.Thread(target=start, daemon=True)
    thread.start()
    try:
        yield
    finally:
        while not holder:
            time.sleep(0.01)
        holder[0].shutdown()
        holder[0].server_close()


@pytest.fixture
def handler() -> type[_Answers]:
    return type("Answers", (_Answers,), {"calls": 0})


def test_a_server_still_starting_is_waited_for(handler: type[_Answers]) -> None:
    port = _free_port()
    with _serving(handler, port, delay=0.4):  # refuses connections for 0.4 s, then answers
        assert Transport(f"http://127.0.0.1:{port}", "myd_a_b").call("POST", "/anything").json() == {"ok": True}
        assert handler.calls == 1


def test_a_5xx_is_not_retried(handler: type[_Answers]) -> None:
    handler.status, handler.body = 500, {"code": "ModelyardError", "message": "broken"}
    port = _free_port()
    with _serving(handler, port):
        time.sleep(0.2)
        with pytest.raises(ModelyardError, match="broken"):
            Transport(f"http://127.0.0.1:{port}", None).call("GET", "/anything")
        assert handler.calls == 1


def test_errors_come_back_as_their_class(handler: type[_Answers]) -> None:
    handler.status, handler.body = 409, {"code": "Conflict", "message": "param 'a' was logged as '1'"}
    port = _free_port()
    with _serving(handler, port):
        time.sleep(0.2)
        with pytest.raises(Conflict, match="was logged as"):
            Transport(f"http://127.0.0.1:{port}", None).call("POST", "/x")


def test_nobody_listening_is_one_line_after_the_retries() -> None:
    with pytest.raises(BackendUnavailable, match=r"^cannot reach the modelyard server at http://127\.0\.0\.1:\d+: "):
        Transport(f"http://127.0.0.1:{_free_port()}", None).call("GET", "/x")


def test_a_subclass_the_client_does_not_know_is_raised_as_its_status_class(handler: type[_Answers]) -> None:
    handler.status, handler.body = 400, {"code": "DataValidationError", "message": "column x is null", "details": {}}
    port = _free_port()
    with _serving(handler, port):
        time.sleep(0.2)
        with pytest.raises(InvalidInput, match="column x is null"):
            Transport(f"http://127.0.0.1:{port}", None).call("POST", "/x")


def test_approval_pending_is_raised_from_a_202_with_its_details(handler: type[_Answers]) -> None:
    message = "churn/1 → Production requested as pending approval #7"
    handler.status = 202
    handler.body = {"code": "ApprovalPending", "message": message, "details": {"approval_request": 7}}
    port = _free_port()
    with _serving(handler, port):
        time.sleep(0.2)
        with pytest.raises(ApprovalPending, match="pending approval #7") as pending:
            Transport(f"http://127.0.0.1:{port}", None).call("POST", "/x")
        assert pending.value.details == {"approval_request": 7}
        handler.body = {"code": "NotAnError", "message": "accepted"}  # any other 202 is an answer
        assert Transport(f"http://127.0.0.1:{port}", None).call("POST", "/x").json()["message"] == "accepted"
