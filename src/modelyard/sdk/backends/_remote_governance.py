"""Users, roles, tokens, approvals, audit and lineage over the REST API (the governance
services' method names). Every check happens on the server, as the token's user."""

from __future__ import annotations

import dataclasses
import json
from typing import IO, Any

from modelyard.domain.governance import (
    GLOBAL_SCOPE,
    Actor,
    ApiToken,
    ApprovalPolicy,
    ApprovalRequest,
    ApprovalStatus,
    AuditEvent,
    Role,
    RoleBinding,
    Scope,
    User,
)
from modelyard.domain.lineage import LineageEdge, LineageGraph, LineageNode, NodeRef
from modelyard.governance.audit import VerifyResult
from modelyard.sdk.backends._http import Transport, decode, decode_list
from modelyard.sdk.backends._remote_tracking import q


class RemoteIdentity:
    def __init__(self, http: Transport) -> None:
        self._http = http

    def whoami(self) -> tuple[Actor, Role | None]:
        found = self._http.get("/auth/whoami", dict[str, Any])
        role = found.get("role")
        return Actor(name=found["user"], via=found["via"]), Role.parse(role) if role else None

    def create_user(self, name: str, *, role: Role | str | None = Role.VIEWER) -> User:
        label = Role.parse(role).label if role is not None else None
        return self._http.send("POST", "/users", User, {"name": name, "role": label})

    def list_users(self) -> list[tuple[User, list[RoleBinding]]]:
        items = self._http.pages("/users", dict[str, Any])
        return [(decode(User, i["user"]), decode_list(RoleBinding, i["bindings"])) for i in items]

    def grant(self, user: str, role: Role | str, scope: Scope = GLOBAL_SCOPE) -> RoleBinding:
        body = {"role": Role.parse(role).label, "scope_kind": scope.kind.value, "scope_id": scope.id}
        return self._http.send("PUT", f"/users/{q(user)}/roles", RoleBinding, body)

    def revoke(self, user: str, scope: Scope = GLOBAL_SCOPE) -> None:
        params = {"scope_kind": scope.kind.value, "scope_id": scope.id}
        self._http.act("DELETE", f"/users/{q(user)}/roles", params=params)

    def set_password(self, password: str, *, user: str | None = None) -> None:
        owner = user or self.whoami()[0].name
        self._http.act("PUT", f"/users/{q(owner)}/password", body={"password": password})

    def create_token(
        self, *, user: str | None = None, expires_in_days: float | None = 90, description: str = ""
    ) -> tuple[ApiToken, str]:
        body = {"user": user, "expires_in_days": expires_in_days, "description": description}
        found = self._http.send("POST", "/tokens", dict[str, Any], body)
        return decode(ApiToken, found["token"]), str(found["secret"])

    def list_tokens(self, user: str | None = None) -> list[ApiToken]:
        return self._http.pages("/tokens", ApiToken, user=user)

    def revoke_token(self, token_id: str) -> None:
        self._http.act("DELETE", f"/tokens/{q(token_id)}")


class RemoteApprovals:
    def __init__(self, http: Transport) -> None:
        self._http = http

    def list(
        self, *, status: ApprovalStatus | str | None = None, model_name: str | None = None
    ) -> list[ApprovalRequest]:
        wanted = None if status is None else str(status).lower()
        return self._http.pages("/approvals", ApprovalRequest, status=wanted, model_name=model_name)

    def get(self, request_id: int) -> ApprovalRequest:
        return self._http.get(f"/approvals/{int(request_id)}", ApprovalRequest)

    def approve(self, request_id: int, comment: str = "") -> ApprovalRequest:
        return self._http.send("POST", f"/approvals/{int(request_id)}/approve", ApprovalRequest, {"comment": comment})

    def reject(self, request_id: int, comment: str = "") -> ApprovalRequest:
        return self._http.send("POST", f"/approvals/{int(request_id)}/reject", ApprovalRequest, {"comment": comment})

    def get_policy(self, model_name: str) -> ApprovalPolicy | None:
        found = self._http.call("GET", f"/approval-policies/{q(model_name)}").json()
        return None if found is None else decode(ApprovalPolicy, found)

    def set_policy(self, policy: ApprovalPolicy) -> ApprovalPolicy:
        body = dataclasses.asdict(policy)
        return self._http.send("PUT", f"/approval-policies/{q(policy.model_name)}", ApprovalPolicy, body)


class RemoteAudit:
    def __init__(self, http: Transport) -> None:
        self._http = http

    def verify(self) -> VerifyResult:
        return self._http.get("/audit/verify", VerifyResult)

    def search(
        self,
        *,
        object_kind: str | None = None,
        object_id: str | None = None,
        actor: str | None = None,
        action: str | None = None,
        since_ms: int | None = None,
        limit: int | None = 1000,
    ) -> list[AuditEvent]:
        found = self._http.pages(
            "/audit", AuditEvent, object_kind=object_kind, object_id=object_id, actor=actor, action=action,
            since_ms=since_ms,
        )  # fmt: skip
        return found if limit is None else found[:limit]

    def export_jsonl(self, out: IO[str], *, since_ms: int | None = None) -> int:
        events = self.search(since_ms=since_ms, limit=None)
        for event in events:
            out.write(json.dumps(dataclasses.asdict(event), sort_keys=True) + "\n")
        return len(events)


class RemoteLineage:
    """The lineage graph around a URI; ``resolve`` keeps the URI for ``graph`` to send."""

    def __init__(self, http: Transport) -> None:
        self._http = http

    def resolve(self, uri: str) -> NodeRef:
        return self.graph_of(uri, max_depth=1).root

    def graph(self, root: NodeRef, *, max_depth: int = 25) -> LineageGraph:
        return self.graph_of(str(root), max_depth=max_depth)

    def graph_of(self, uri: str, *, max_depth: int = 25) -> LineageGraph:
        found = self._http.get("/lineage", dict[str, Any], uri=uri, max_depth=max_depth)
        nodes = decode_list(LineageNode, found["nodes"])
        return LineageGraph(
            root=decode(NodeRef, found["root"]),
            nodes={n.ref: n for n in nodes},
            upstream=tuple(decode_list(LineageEdge, found["upstream"])),
            downstream=tuple(decode_list(LineageEdge, found["downstream"])),
        )
