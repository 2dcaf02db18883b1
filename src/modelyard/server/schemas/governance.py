"""Request and response bodies of users, roles, tokens, sessions, approvals, audit and lineage."""

from __future__ import annotations

from pydantic import Field

from modelyard.domain.governance import ApiToken, ApprovalPolicy, ApprovalRequest, AuditEvent, RoleBinding, User
from modelyard.domain.lineage import LineageEdge, LineageNode, NodeRef
from modelyard.server.schemas._derive import Schema, schema_for

UserOut = schema_for(User)
RoleBindingOut = schema_for(RoleBinding)
ApiTokenOut = schema_for(ApiToken)
ApprovalOut = schema_for(ApprovalRequest)
ApprovalPolicyOut = schema_for(ApprovalPolicy)
AuditEventOut = schema_for(AuditEvent)


class LoginIn(Schema):
    username: str = Field(min_length=1, max_length=256)
    password: str = Field(min_length=1, max_length=1024)


class SessionOut(Schema):
    user: str
    token: str = Field(description="The session token (also set as the modelyard_session cookie)")
    expires_ms: int | None


class WhoAmI(Schema):
    user: str
    via: str
    role: str | None


class UserCreate(Schema):
    name: str = Field(min_length=1, max_length=256)
    role: str | None = "viewer"


class UserWithRoles(Schema):
    user: UserOut  # type: ignore[valid-type]
    bindings: list[RoleBindingOut]  # type: ignore[valid-type]


class GrantIn(Schema):
    role: str = Field(min_length=1, max_length=32)
    scope_kind: str = "global"
    scope_id: str = Field(default="", max_length=256)


class PasswordIn(Schema):
    password: str = Field(min_length=1, max_length=1024)


class TokenCreate(Schema):
    user: str | None = Field(default=None, max_length=256)
    expires_in_days: float | None = Field(default=90, gt=0, le=36500)
    description: str = Field(default="", max_length=1000)


class TokenCreated(Schema):
    token: ApiTokenOut  # type: ignore[valid-type]
    secret: str = Field(description="The full token, shown once")


class DecisionIn(Schema):
    comment: str = Field(default="", max_length=10_000)


class LineageGraphOut(Schema):
    """The graph around ``root``: its nodes (a list: JSON keys are strings) and edges either way."""

    root: schema_for(NodeRef)  # type: ignore[valid-type]
    nodes: list[schema_for(LineageNode)]  # type: ignore[valid-type]
    upstream: list[schema_for(LineageEdge)]  # type: ignore[valid-type]
    downstream: list[schema_for(LineageEdge)]  # type: ignore[valid-type]
