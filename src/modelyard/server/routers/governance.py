"""``/api/v1/approvals``, ``/api/v1/audit`` and ``/api/v1/lineage``: four-eyes approvals, the
tamper-evident audit trail, and the lineage graph around any node."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from modelyard.domain.governance import ApprovalPolicy, ApprovalStatus
from modelyard.governance.audit import VerifyResult
from modelyard.server.deps import BackendDep
from modelyard.server.errors import ERROR_RESPONSES
from modelyard.server.pagination import DEFAULT_PAGE, MaxResults, PageToken, page_of, paginate
from modelyard.server.schemas import Count, schema_for
from modelyard.server.schemas.governance import (
    ApprovalOut,
    ApprovalPolicyOut,
    AuditEventOut,
    DecisionIn,
    LineageGraphOut,
)

router = APIRouter(prefix="/api/v1", tags=["governance"], responses=ERROR_RESPONSES)


@router.get("/approvals", response_model=page_of(ApprovalOut))
def list_approvals(
    backend: BackendDep,
    status: ApprovalStatus | None = None,
    model_name: str | None = Query(default=None, max_length=256),
    max_results: MaxResults = DEFAULT_PAGE,
    page_token: PageToken = None,
) -> Any:
    return paginate(backend.approvals.list(status=status, model_name=model_name), max_results, page_token)


@router.get("/approvals/{request_id}", response_model=ApprovalOut)
def get_approval(request_id: Count, backend: BackendDep) -> Any:
    return backend.approvals.get(request_id)


@router.post("/approvals/{request_id}/approve", response_model=ApprovalOut)
def approve(request_id: Count, body: DecisionIn, backend: BackendDep) -> Any:
    """Approve as the caller (never the requester: the service refuses self-approval)."""
    return backend.approvals.approve(request_id, body.comment)


@router.post("/approvals/{request_id}/reject", response_model=ApprovalOut)
def reject(request_id: Count, body: DecisionIn, backend: BackendDep) -> Any:
    return backend.approvals.reject(request_id, body.comment)


@router.get("/approval-policies/{model_name}", response_model=ApprovalPolicyOut | None)
def get_policy(model_name: str, backend: BackendDep) -> Any:
    return backend.approvals.get_policy(model_name)


@router.put("/approval-policies/{model_name}", response_model=ApprovalPolicyOut)
def set_policy(model_name: str, body: ApprovalPolicyOut, backend: BackendDep) -> Any:  # type: ignore[valid-type]
    fields = body.model_dump()  # type: ignore[attr-defined]
    fields["model_name"] = model_name
    fields["stages"] = tuple(fields["stages"])
    fields["protected_aliases"] = tuple(fields["protected_aliases"])
    return backend.approvals.set_policy(ApprovalPolicy(**fields))


@router.get("/audit", response_model=page_of(AuditEventOut))
def search_audit(
    backend: BackendDep,
    object_kind: str | None = Query(default=None, max_length=64),
    object_id: str | None = Query(default=None, max_length=1000),
    actor: str | None = Query(default=None, max_length=256),
    action: str | None = Query(default=None, max_length=128),
    since_ms: int | None = Query(default=None, ge=0, le=2**63 - 1),
    max_results: MaxResults = DEFAULT_PAGE,
    page_token: PageToken = None,
) -> Any:
    """Audit events, oldest first, filtered; paged."""
    found = backend.audit.search(
        object_kind=object_kind, object_id=object_id, actor=actor, action=action, since_ms=since_ms, limit=None
    )
    return paginate(found, max_results, page_token)


@router.get("/audit/verify", response_model=schema_for(VerifyResult))
def verify_audit(backend: BackendDep) -> Any:
    """Re-hash the whole chain; ``first_break`` names the first event that does not match."""
    return backend.audit.verify()


@router.get("/lineage", response_model=LineageGraphOut)
def lineage(
    backend: BackendDep,
    uri: str = Query(min_length=1, max_length=1000),
    max_depth: int = Query(default=25, ge=1, le=100),
) -> Any:
    """Everything upstream and downstream of the node ``uri`` names (runs:/, models:/, datasets:/ …)."""
    graph = backend.lineage.graph(backend.lineage.resolve(uri), max_depth=max_depth)
    return {
        "root": graph.root,
        "nodes": list(graph.nodes.values()),
        "upstream": graph.upstream,
        "downstream": graph.downstream,
    }
