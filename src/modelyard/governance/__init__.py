"""Governance: lineage now; users, roles, approvals and the audit trail with the governance issue."""
