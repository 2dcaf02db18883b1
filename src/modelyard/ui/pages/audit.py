"""The audit trail: a searchable log of every state change, and whether the chain verifies."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from modelyard.ui._render import backend_of, render

router = APIRouter()

PAGE_SIZE = 200


@router.get("/audit")
def audit(request: Request, actor: str = "", object_id: str = "", action: str = "") -> HTMLResponse:
    backend = backend_of(request)
    events = backend.audit.search(actor=actor or None, object_id=object_id or None, action=action or None, limit=None)
    context = {
        "events": list(reversed(events))[:PAGE_SIZE],
        "total": len(events),
        "verify": backend.audit.verify(),
        "actor": actor,
        "object_id": object_id,
        "action": action,
    }
    return render(request, "audit.html", context)
