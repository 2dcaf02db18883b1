"""Governance: lineage now; users, roles, approvals and the audit trail with the governance issue.

Lineage answers "where did this come from, and what was made from it" for any dataset version,
run, logged model or model version, and exports the answer as OpenLineage run events.
"""

from modelyard.governance.lineage import LineageService as LineageService
from modelyard.governance.openlineage import run_events as openlineage_run_events

__all__ = ["LineageService", "openlineage_run_events"]
