"""HTTP plumbing shared by the protocols: body limits, JSON parsing, request ids, status errors.

Protocols differ in their body shapes and error shapes, not in how a body is read or what a bad
one is; keeping that here means every protocol refuses the same inputs with the same status.
"""

from __future__ import annotations

import asyncio
import json
import math
import uuid
from typing import Any

from starlette.requests import Request

from modelyard.errors import InvalidInput

REQUEST_ID_HEADER = "x-request-id"
VARIANT_HEADER = "x-modelyard-variant"
MODEL_VERSION_HEADER = "x-modelyard-model-version"
DEPLOYMENT_HEADER = "x-modelyard-deployment"
DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024


class RequestTooLarge(InvalidInput):
    """The body is over the server's configured limit."""

    http_status = 413


class RequestTimedOut(InvalidInput):
    """The client stopped sending its body."""

    http_status = 408


BODY_TIMEOUT_S = 30.0
"""The longest wait for the next chunk of a request body."""


class UnsupportedMediaType(InvalidInput):
    """The body's content type is not one the protocol reads."""

    http_status = 415


class InputRejected(InvalidInput):
    """Well-formed, but the model cannot take it (it breaks the signature); names the column."""

    http_status = 422


async def read_body(request: Request, limit: int, timeout_s: float = BODY_TIMEOUT_S) -> bytes:
    """The request body, refused with ``RequestTooLarge`` as soon as it passes ``limit`` bytes,
    and with ``RequestTimedOut`` when no data comes for ``timeout_s`` (a stalled or slow client
    would otherwise hold its connection and task for ever).

    One deadline moved on at each chunk (``asyncio.timeout``), not ``wait_for`` per chunk: that
    made a task per chunk, a tenth of a small model's request time.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestTooLarge(f"request body of {declared} bytes is over the limit of {limit}", limit=limit)
    chunks: list[bytes] = []
    size = 0
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout_s) as deadline:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise RequestTooLarge(f"request body is over the limit of {limit} bytes", limit=limit)
                chunks.append(chunk)
                deadline.reschedule(loop.time() + timeout_s)
    except TimeoutError:
        raise RequestTimedOut(f"the request body stalled: no data for {timeout_s:g} s") from None
    return b"".join(chunks)


def _constant(name: str) -> float:
    if name == "NaN":
        return math.nan
    raise InvalidInput(f"{name} is not a value a model can take (JSON has no infinities)")


def parse_json(body: bytes) -> Any:
    """``body`` as JSON; ``InvalidInput`` saying where it breaks. ``NaN`` reads as a missing value."""
    if not body:
        raise InvalidInput("request body is empty; expected JSON")
    try:
        return json.loads(body, parse_constant=_constant)
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"request body is not UTF-8: {exc.reason}") from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise InvalidInput("JSON nested too deeply") from None


def dump_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), allow_nan=True).encode("utf-8")


def request_id(request: Request) -> str:
    """The caller's ``x-request-id`` if it sent a sane one, else a new random id."""
    given = request.headers.get(REQUEST_ID_HEADER)
    if given and len(given) <= 200 and given.isprintable():
        return given
    return uuid.uuid4().hex
