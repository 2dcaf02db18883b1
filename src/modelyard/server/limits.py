"""Request size limits and a per-request time limit, as ASGI middleware.

A body larger than ``max_body_bytes`` is refused with 413 as soon as its declared length or the
bytes read so far pass the limit (artifact uploads have their own, larger limit, checked by their
route while streaming to disk). A request still running after ``request_timeout_s`` is answered
503 (the work it started may still finish: services commit whole transactions or nothing).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from modelyard.errors import InvalidInput

ARTIFACT_MARKER = "/artifacts/"


class RequestTooLarge(InvalidInput):
    """The body is over the server's limit."""

    http_status = 413


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 32 * 1024 * 1024
    max_artifact_bytes: int = 5 * 1024 * 1024 * 1024
    request_timeout_s: float = 300.0


class LimitsMiddleware:
    def __init__(self, app: ASGIApp, limits: Limits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = scope["method"] in ("PUT", "POST") and ARTIFACT_MARKER in scope["path"]
        limit = self.limits.max_artifact_bytes if upload else self.limits.max_body_bytes
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _answer(
                send, 413, "InvalidInput", f"request body of {int(declared)} bytes is over the limit of {limit}"
            )
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise RequestTooLarge(f"request body is over the limit of {limit} bytes", limit=limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        with anyio.move_on_after(self.limits.request_timeout_s) as cancel:
            await self.app(scope, limited_receive, tracking_send)
        if cancel.cancelled_caught and not started:
            await _answer(
                send, 503, "BackendUnavailable", f"request took longer than {self.limits.request_timeout_s:g} s"
            )


async def _answer(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"code": code, "message": message, "details": {}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
