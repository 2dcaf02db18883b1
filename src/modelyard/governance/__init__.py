"""Governance: identity and roles, four-eyes approvals, the tamper-evident audit trail (anchored
outside the database), model cards, compliance reports and lineage.

A foundation the services call (it sits below them and above the store): permission checks
(``require``) and audit appends (``audit_append``) run inside the service's own transaction, so
the CLI, the SDK and the REST API all meet them. That is a guarantee about modelyard's interfaces,
not about the store: in embedded mode whoever can open the store's files can also write them,
so a team that needs a security boundary puts the store behind the server. Lineage answers
"where did this come from, and what was made from it" and exports OpenLineage run events.
"""

from typing import TYPE_CHECKING

from modelyard._lazy import lazy_exports

if TYPE_CHECKING:
    from modelyard.governance._render import to_html as render_html
    from modelyard.governance._render import to_json as render_json
    from modelyard.governance._render import to_markdown as render_markdown
    from modelyard.governance.access import effective_role as effective_role
    from modelyard.governance.access import guarded as guarded
    from modelyard.governance.access import require as require
    from modelyard.governance.access import require_given as require_given
    from modelyard.governance.actors import ActorProvider as ActorProvider
    from modelyard.governance.actors import actor_provider as actor_provider
    from modelyard.governance.actors import local_actor as local_actor
    from modelyard.governance.anchor import AuditAnchor as AuditAnchor
    from modelyard.governance.approvals import Applier as Applier
    from modelyard.governance.approvals import ApprovalService as ApprovalService
    from modelyard.governance.approvals import approval_needed as approval_needed
    from modelyard.governance.approvals import grant_only as grant_only
    from modelyard.governance.approvals import open_request as open_request
    from modelyard.governance.approvals import protected_holdings as protected_holdings
    from modelyard.governance.approvals import serving_approval_needed as serving_approval_needed
    from modelyard.governance.audit import AuditService as AuditService
    from modelyard.governance.audit import VerifyResult as VerifyResult
    from modelyard.governance.audit import append as audit_append
    from modelyard.governance.audit import append_many as audit_append_many
    from modelyard.governance.cards import ModelCardService as ModelCardService
    from modelyard.governance.compliance import ComplianceService as ComplianceService
    from modelyard.governance.identity import IdentityService as IdentityService
    from modelyard.governance.lineage import LineageService as LineageService
    from modelyard.governance.openlineage import run_events as openlineage_run_events

__getattr__ = lazy_exports(__name__, __file__)
del TYPE_CHECKING, lazy_exports  # import plumbing, not part of the package's surface

__all__ = [
    "ActorProvider",
    "Applier",
    "ApprovalService",
    "AuditAnchor",
    "AuditService",
    "ComplianceService",
    "IdentityService",
    "LineageService",
    "ModelCardService",
    "VerifyResult",
    "actor_provider",
    "approval_needed",
    "audit_append",
    "audit_append_many",
    "effective_role",
    "grant_only",
    "guarded",
    "local_actor",
    "open_request",
    "openlineage_run_events",
    "protected_holdings",
    "render_html",
    "render_json",
    "render_markdown",
    "require",
    "require_given",
    "serving_approval_needed",
]
