"""Rendering a page: the Jinja2 environment, its filters, and what every page's frame needs.

Every page gets ``me`` (the acting user and their global role) so templates can hide the buttons
a user may not press; the services refuse those actions anyway, whatever a client posts.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from modelyard.domain.governance import PERMISSION_ROLES, Permission, Role
from modelyard.sdk.backends import LocalBackend

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))

NAV = (
    ("Experiments", "/experiments"),
    ("Models", "/models"),
    ("Approvals", "/approvals"),
    ("Datasets", "/datasets"),
    ("Pipelines", "/pipelines"),
    ("Deployments", "/deployments"),
    ("Monitoring", "/monitors"),
    ("Audit", "/audit"),
)


def backend_of(request: Request) -> LocalBackend:
    """The services this process serves (set by the app that mounted the UI)."""
    backend: LocalBackend = request.app.state.backend
    return backend


def render(request: Request, name: str, context: dict[str, Any], *, status_code: int = 200) -> HTMLResponse:
    """``name`` rendered with ``context`` plus the frame's own values."""
    role: Role | None
    try:
        actor, role = backend_of(request).identity.whoami()
        user = actor.name
    except Exception:  # the error page of an unknown or disabled user must still render
        user, role = "", None
    frame = {"me": {"name": user, "role": role.label if role else "none"}, "nav": NAV, "can": _can(role)}
    return templates.TemplateResponse(request, name, {**frame, **context}, status_code=status_code)


def _can(role: Role | None) -> dict[str, bool]:
    return {p.value: role is not None and role >= PERMISSION_ROLES[p] for p in Permission}


def _when(ms: int | None) -> str:
    if ms is None:
        return "—"
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _duration(start_ms: int | None, end_ms: int | None) -> str:
    if start_ms is None or end_ms is None:
        return "—"
    seconds = max(0.0, (end_ms - start_ms) / 1000)
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _number(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "—" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return f"{value:.4g}"
    return str(value)


def _query(request: Request, **changes: Any) -> str:
    """The current query string with ``changes`` applied (``None`` removes a key)."""
    params = dict(request.query_params)
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = str(value)
    return "?" + urlencode(params) if params else "?"


templates.env.filters.update(when=_when, number=_number)
templates.env.globals.update(duration=_duration, query=_query, zip=zip)


def current_user(request: Request) -> str:
    """The acting user's name, for services that take the actor per call (deployments, alerts)."""
    actor, _ = backend_of(request).identity.whoami()
    return actor.name
