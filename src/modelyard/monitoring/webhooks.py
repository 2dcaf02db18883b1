"""Alert notifications over HTTP: a JSON POST per webhook, retried with exponential backoff.

A receiver that is down for a moment (a deploy, a 503) should not lose an alert, and a receiver
that is gone should not hold the monitor up forever: each delivery makes at most ``attempts``
tries, sleeping ``backoff_s * 2**k`` between them, and the outcome is returned (and stored on the
alert) rather than raised. 2xx is success; other statuses and connection errors are retried.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class Delivery:
    """How one webhook delivery ended."""

    url: str
    ok: bool
    attempts: int
    status: int | None
    error: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"url": self.url, "ok": self.ok, "attempts": self.attempts, "status": self.status, "error": self.error}


def post_json(
    url: str,
    payload: dict[str, Any],
    *,
    attempts: int = 4,
    backoff_s: float = 0.5,
    timeout_s: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """POST ``payload`` to ``url`` until a 2xx answer or ``attempts`` tries; never raises for HTTP trouble."""
    status: int | None = None
    error: str | None = None
    with httpx.Client(timeout=timeout_s) as client:
        for attempt in range(1, attempts + 1):
            try:
                response = client.post(url, json=payload, headers={"user-agent": "modelyard-alerts"})
                status, error = response.status_code, None
                if response.is_success:
                    return Delivery(url=url, ok=True, attempts=attempt, status=status, error=None)
                error = f"HTTP {status}"
            except httpx.HTTPError as exc:
                status, error = None, f"{type(exc).__name__}: {exc}"
            logger.warning("webhook %s: attempt %d/%d failed (%s)", url, attempt, attempts, error)
            if attempt < attempts:
                sleep(backoff_s * 2 ** (attempt - 1))
    return Delivery(url=url, ok=False, attempts=attempts, status=status, error=error)
