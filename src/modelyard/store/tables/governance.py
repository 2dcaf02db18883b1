"""Governance tables: users, role bindings, API tokens (hashed), the audit chain, approval
requests with their decisions and policies, and the people-filled fields of model cards.

``audit_events`` is append-only: the migration installs triggers (PostgreSQL and SQLite) that
abort any UPDATE or DELETE, so the chain can only grow through ``store.repos.audit.append``.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Index, Integer, String, Table, Text

from modelyard.store.tables.base import metadata

users = Table(
    "users",
    metadata,
    Column("name", String(256), primary_key=True),
    Column("created_ms", BigInteger, nullable=False),
    Column("disabled", Boolean, nullable=False),
    Column("password_hash", Text, nullable=True),  # Argon2id; only users who log in to the server have one
)

role_bindings = Table(
    "role_bindings",
    metadata,
    Column("user_name", String(256), ForeignKey("users.name"), primary_key=True),
    Column("scope_kind", String(32), primary_key=True),
    Column("scope_id", String(256), primary_key=True),
    Column("role", Integer, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("token_id", String(32), primary_key=True),
    Column("user_name", String(256), ForeignKey("users.name"), nullable=False),
    Column("secret_hash", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("expires_ms", BigInteger, nullable=True),
    Column("revoked_ms", BigInteger, nullable=True),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("time_ms", BigInteger, nullable=False),
    Column("actor", String(256), nullable=False),
    Column("action", String(128), nullable=False),
    Column("object_kind", String(64), nullable=False),
    Column("object_id", String(512), nullable=False),
    Column("details", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_audit_events_object", "object_kind", "object_id"),
    Index("ix_audit_events_actor", "actor"),
    Index("ix_audit_events_time_ms", "time_ms"),
)

approval_requests = Table(
    "approval_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("model_name", String(256), nullable=False),
    Column("version", Integer, nullable=False),
    Column("target", Text, nullable=False),
    Column("requested_by", String(256), nullable=False),
    Column("reason", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    Index("ix_approval_requests_status", "status"),
)

approval_decisions = Table(
    "approval_decisions",
    metadata,
    Column("request_id", Integer, ForeignKey("approval_requests.id"), primary_key=True),
    Column("approver", String(256), primary_key=True),
    Column("approved", Boolean, nullable=False),
    Column("comment", Text, nullable=False),
    Column("time_ms", BigInteger, nullable=False),
)

approval_policies = Table(
    "approval_policies",
    metadata,
    Column("model_name", String(256), primary_key=True),
    Column("policy", Text, nullable=False),  # JSON of ApprovalPolicy minus the name
)

model_card_fields = Table(
    "model_card_fields",
    metadata,
    Column("model_name", String(256), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("field", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_by", String(256), nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
)
