"""The remote backend's HTTP transport: one pooled keep-alive connection, typed decoding, errors.

- A ``{"code", "message", "details"}`` error answer is raised as the ``modelyard.errors`` class it
  names, with its details, so a caller sees the same exception as in embedded mode; that includes
  ``ApprovalPending``, which the server answers 202 (``details["approval_request"]``).
- Connection errors are retried with exponential backoff (0.1 s doubling, 5 tries): always when
  the connection could not be opened (nothing was sent), and for idempotent calls also when it
  broke mid-call. A 5xx is never retried: a server that fails deterministically would only be
  hammered (MLflow's client retries a 5xx seven times).
- A server that stays unreachable is one ``BackendUnavailable`` line naming its URL.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

import httpx
from pydantic import TypeAdapter

from modelyard import errors

T = TypeVar("T")
API = "/api/v1"
RETRIES = 5
BACKOFF_S = 0.1
_ERRORS: dict[str, type[errors.ModelyardError]] = {
    cls.__name__: cls
    for cls in (
        errors.ModelyardError,
        errors.NotFound,
        errors.AlreadyExists,
        errors.InvalidInput,
        errors.Conflict,
        errors.ApprovalPending,
        errors.PermissionDenied,
        errors.Unauthenticated,
        errors.BackendUnavailable,
        errors.UserCodeError,
    )
}
# A subclass the server names but this module does not know (``RequestTooLarge``, a pipeline's
# ``DataValidationError``) is raised as the base class its status stands for.
_BY_STATUS: dict[int, type[errors.ModelyardError]] = {
    400: errors.InvalidInput,
    401: errors.Unauthenticated,
    403: errors.PermissionDenied,
    404: errors.NotFound,
    409: errors.Conflict,
    413: errors.InvalidInput,
    416: errors.InvalidInput,
    502: errors.BackendUnavailable,
    503: errors.BackendUnavailable,
    504: errors.BackendUnavailable,
}
_adapters: dict[Any, TypeAdapter[Any]] = {}


def decode(kind: type[T], data: Any) -> T:
    """``data`` (parsed JSON) as ``kind`` (a domain dataclass …); "NaN" reads as a float."""
    adapter = _adapters.get(kind)
    if adapter is None:
        adapter = _adapters[kind] = TypeAdapter(kind)
    found: T = adapter.validate_python(data)
    return found


def decode_list(kind: type[T], data: Any) -> list[T]:
    adapter = _adapters.get((list, kind))
    if adapter is None:
        adapter = _adapters[(list, kind)] = TypeAdapter(list[kind])  # type: ignore[valid-type]
    found: list[T] = adapter.validate_python(data)
    return found


def json_float(value: float) -> float | str:
    """A float for a JSON body: NaN and the infinities as MLflow's strings."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


class Transport:
    """Calls ``/api/v1`` of one server with one token."""

    def __init__(self, base_url: str, token: str | None, *, timeout_s: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"user-agent": "modelyard-sdk"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        self._client = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout_s)

    def close(self) -> None:
        self._client.close()

    # -- calls -----------------------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        content: bytes | Callable[[], Iterable[bytes]] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """One request; the response on 2xx, else the ``modelyard.errors`` exception it names.

        ``content`` is bytes, or a function returning the body's chunks afresh for each attempt
        (a streamed upload cannot be replayed from a used iterator)."""
        safe = method in ("GET", "HEAD", "PUT", "DELETE") if idempotent is None else idempotent
        query = {k: v for k, v in (params or {}).items() if v is not None}
        delay = BACKOFF_S
        for attempt in range(RETRIES):
            try:
                body = content() if callable(content) else content
                response = self._client.request(
                    method, API + path, json=json, params=query, content=body, headers=headers
                )
                break
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                failure: httpx.HTTPError = exc  # nothing reached the server: safe to retry any call
            except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadTimeout) as exc:
                if not safe:
                    raise errors.BackendUnavailable(
                        f"the modelyard server at {self.base_url} dropped the connection during {method} {path}: "
                        f"{_reason(exc)} (not retried: it may have been applied)"
                    ) from None
                failure = exc
            if attempt == RETRIES - 1:
                raise errors.BackendUnavailable(
                    f"cannot reach the modelyard server at {self.base_url}: {_reason(failure)}"
                ) from None
            time.sleep(delay)
            delay *= 2
        if response.status_code >= 400 or _pending(response):
            raise _error(response)
        return response

    def get(self, route: str, kind: type[T], /, **params: Any) -> T:
        return decode(kind, self.call("GET", route, params=params).json())

    def get_list(self, route: str, kind: type[T], /, **params: Any) -> list[T]:
        return decode_list(kind, self.call("GET", route, params=params).json())

    def send(self, method: str, route: str, kind: type[T], body: Any = None, **kwargs: Any) -> T:
        return decode(kind, self.call(method, route, json=body, **kwargs).json())

    def send_list(self, method: str, route: str, kind: type[T], body: Any = None, **kwargs: Any) -> list[T]:
        return decode_list(kind, self.call(method, route, json=body, **kwargs).json())

    def act(self, method: str, route: str, body: Any = None, **kwargs: Any) -> None:
        """A call answered 204 (or whose answer is not needed)."""
        self.call(method, route, json=body, **kwargs)

    def pages(self, route: str, kind: type[T], /, **params: Any) -> list[T]:
        """Every item of a paged list, following ``next_page_token``."""
        items: list[Any] = []
        token: str | None = None
        while True:
            page = self.call("GET", route, params={**params, "max_results": 10_000, "page_token": token}).json()
            items.extend(page["items"])
            token = page.get("next_page_token")
            if not token:
                return decode_list(kind, items)

    def stream(self, route: str, /, **params: Any) -> Iterator[bytes]:
        """A GET's body in chunks (never whole in memory)."""
        query = {k: v for k, v in params.items() if v is not None}
        try:
            with self._client.stream("GET", API + route, params=query) as response:
                if response.status_code >= 400:
                    response.read()
                    raise _error(response)
                yield from response.iter_bytes(256 * 1024)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise errors.BackendUnavailable(
                f"cannot reach the modelyard server at {self.base_url}: {_reason(exc)}"
            ) from None


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[-1] if text else type(exc).__name__


def _pending(response: httpx.Response) -> bool:
    """A 202 that says the change waits for approvers (the server's ``ApprovalPending``)."""
    if response.status_code != 202 or not response.headers.get("content-type", "").startswith("application/json"):
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("code") == errors.ApprovalPending.__name__


def _error(response: httpx.Response) -> errors.ModelyardError:
    details: dict[str, Any] = {}
    try:
        body = response.json()
        code, message = str(body.get("code", "")), str(body.get("message", ""))
        if isinstance(body.get("details"), dict):
            details = {str(k): v for k, v in body["details"].items() if k != "message"}
    except (ValueError, AttributeError):
        code, message = "", response.text[:200]
    cls = _ERRORS.get(code)
    if cls is None:
        cls = _BY_STATUS.get(response.status_code, errors.ModelyardError)
        message = message or f"the server answered {response.status_code}"
    return cls(message, **details)
