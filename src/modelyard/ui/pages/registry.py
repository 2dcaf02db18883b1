"""Registered models, their versions (stage, aliases, gate verdict, signature, card, lineage) and
the approval queue with its approve and reject buttons."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from modelyard.domain.governance import GATE_BLESSED_TAG, ApprovalStatus
from modelyard.domain.lineage import NodeKind, NodeRef
from modelyard.errors import InvalidInput, ModelyardError
from modelyard.governance import ModelCardService
from modelyard.ui._lineage import lineage_view
from modelyard.ui._render import backend_of, render

router = APIRouter()

VERDICT_TAG = "modelyard.gate.verdict"  # a runs:/ URI of the verdict JSON (pipelines.gates)


@router.get("/models")
def models(request: Request, filter: str = "") -> HTMLResponse:
    backend = backend_of(request)
    found = backend.registered_models.search(filter or None)
    return render(request, "models.html", {"models": list(found), "filter": filter})


@router.get("/models/{name}")
def model(request: Request, name: str) -> HTMLResponse:
    backend = backend_of(request)
    registered = backend.registered_models.get(name)
    versions = sorted(backend.model_versions.list(name), key=lambda v: -v.version)
    policy = backend.approvals.get_policy(name)
    context = {"model": registered, "versions": versions, "policy": policy, "blessed_tag": GATE_BLESSED_TAG}
    return render(request, "model.html", context)


@router.get("/models/{name}/versions/{version}")
def version(request: Request, name: str, version: int) -> HTMLResponse:
    backend = backend_of(request)
    found = backend.model_versions.get(name, version)
    logged = backend.logged_models.get(found.model_id)
    card = ModelCardService(backend.db, actor=_actor_provider(request)).card(name, version)
    graph = backend.lineage.graph(NodeRef(kind=NodeKind.MODEL_VERSION, id=f"{name}/{version}"), max_depth=4)
    view = lineage_view(graph)
    context = {
        "version": found,
        "logged": logged,
        "signature": logged.signature,
        "verdict": _verdict(request, found.tags.get(VERDICT_TAG)),
        "card": card,
        "lineage": view,
        "charts": bool(view["sankey"]),
        "pending": backend.approvals.list(status=ApprovalStatus.PENDING, model_name=name),
    }
    return render(request, "version.html", context)


def _actor_provider(request: Request) -> Any:
    """The acting user as the services see them, resolved once, before any transaction opens."""
    actor, _ = backend_of(request).identity.whoami()
    return lambda: actor


def _verdict(request: Request, location: str | None) -> dict[str, Any] | None:
    """The gate's verdict, read from the run artifact the version's tag points at."""
    if not location or not location.startswith("runs:/"):
        return None
    run_id, _, path = location.removeprefix("runs:/").partition("/")
    try:
        parsed = json.loads(backend_of(request).artifacts.read_bytes(run_id, path))
    except (ModelyardError, ValueError) as exc:
        return {"summary": f"{location}: {exc}"}
    return parsed if isinstance(parsed, dict) else {"summary": str(parsed)}


@router.get("/approvals")
def approvals(request: Request, status: str = "pending") -> HTMLResponse:
    """Requests with what they change and the policy's preconditions beside them."""
    backend = backend_of(request)
    requests = backend.approvals.list(status=None if status in ("", "all") else status)
    policies = {r.model_name: backend.approvals.get_policy(r.model_name) for r in requests}
    context = {"requests": requests, "policies": policies, "status": status, "flash": request.query_params.get("done")}
    return render(request, "approvals.html", context)


@router.post("/approvals/{request_id}/{decision}")
def decide(request: Request, request_id: int, decision: str, comment: Annotated[str, Form()] = "") -> RedirectResponse:
    """Approve or reject: the service checks the role and the four-eyes rule, not this page."""
    backend = backend_of(request)
    if decision == "approve":
        done = backend.approvals.approve(request_id, comment)
    elif decision == "reject":
        done = backend.approvals.reject(request_id, comment)
    else:
        raise InvalidInput(f"unknown decision {decision!r}: approve or reject")
    message = f"request #{done.id} is now {done.status.value}"
    return RedirectResponse("/approvals?" + urlencode({"done": message}), status_code=303)
