"""Approval requests with their decisions, approval policies, and the people-filled fields of
model cards (stored per version, read by the card builder and the card-complete precondition)."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from sqlalchemy import Connection, Row, select, update

from modelyard.domain.governance import (
    ApprovalDecision,
    ApprovalKind,
    ApprovalPolicy,
    ApprovalRequest,
    ApprovalStatus,
)
from modelyard.store.repos._upsert import upsert
from modelyard.store.tables.governance import (
    approval_decisions,
    approval_policies,
    approval_requests,
    model_card_fields,
)


def insert_request(
    conn: Connection,
    *,
    kind: ApprovalKind,
    model_name: str,
    version: int,
    target: dict[str, Any],
    requested_by: str,
    reason: str,
    now_ms: int,
) -> int:
    result = conn.execute(
        approval_requests.insert()
        .values(
            kind=kind.value,
            model_name=model_name,
            version=version,
            target=json.dumps(target, sort_keys=True),
            requested_by=requested_by,
            reason=reason,
            status=ApprovalStatus.PENDING.value,
            created_ms=now_ms,
            updated_ms=now_ms,
        )
        .returning(approval_requests.c.id)
    )
    return int(result.scalar_one())


def get_request(conn: Connection, request_id: int, *, for_update: bool = False) -> ApprovalRequest | None:
    query = select(approval_requests).where(approval_requests.c.id == request_id)
    if for_update and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    return None if row is None else _request(conn, row)


def list_requests(
    conn: Connection, *, status: ApprovalStatus | None = None, model_name: str | None = None
) -> list[ApprovalRequest]:
    query = select(approval_requests).order_by(approval_requests.c.id)
    if status is not None:
        query = query.where(approval_requests.c.status == status.value)
    if model_name is not None:
        query = query.where(approval_requests.c.model_name == model_name)
    return [_request(conn, row) for row in conn.execute(query).all()]


def set_status(conn: Connection, request_id: int, status: ApprovalStatus, *, now_ms: int) -> None:
    conn.execute(
        update(approval_requests)
        .where(approval_requests.c.id == request_id)
        .values(status=status.value, updated_ms=now_ms)
    )


def add_decision(conn: Connection, request_id: int, decision: ApprovalDecision) -> None:
    conn.execute(
        approval_decisions.insert().values(
            request_id=request_id,
            approver=decision.approver,
            approved=decision.approved,
            comment=decision.comment,
            time_ms=decision.time_ms,
        )
    )


def get_policy(conn: Connection, model_name: str) -> ApprovalPolicy | None:
    row = conn.execute(select(approval_policies).where(approval_policies.c.model_name == model_name)).first()
    if row is None:
        return None
    values = json.loads(row.policy)
    for key in ("stages", "protected_aliases"):
        values[key] = tuple(values.get(key, ()))
    return ApprovalPolicy(model_name=model_name, **values)


def put_policy(conn: Connection, policy: ApprovalPolicy) -> None:
    values = asdict(policy)
    values.pop("model_name")
    upsert(
        conn,
        approval_policies,
        [{"model_name": policy.model_name, "policy": json.dumps(values, sort_keys=True)}],
        keys=["model_name"],
        update=["policy"],
    )


def card_fields(conn: Connection, model_name: str, version: int) -> dict[str, str]:
    rows = conn.execute(
        select(model_card_fields.c.field, model_card_fields.c.value).where(
            model_card_fields.c.model_name == model_name, model_card_fields.c.version == version
        )
    )
    return {r.field: r.value for r in rows}


def set_card_fields(
    conn: Connection, model_name: str, version: int, values: dict[str, str], *, actor: str, now_ms: int
) -> None:
    upsert(
        conn,
        model_card_fields,
        [
            {
                "model_name": model_name,
                "version": version,
                "field": key,
                "value": value,
                "updated_by": actor,
                "updated_ms": now_ms,
            }
            for key, value in values.items()
        ],
        keys=["model_name", "version", "field"],
        update=["value", "updated_by", "updated_ms"],
    )


def _request(conn: Connection, row: Row) -> ApprovalRequest:  # type: ignore[type-arg]
    decisions = conn.execute(
        select(approval_decisions)
        .where(approval_decisions.c.request_id == row.id)
        .order_by(approval_decisions.c.time_ms, approval_decisions.c.approver)
    )
    return ApprovalRequest(
        id=int(row.id),
        kind=ApprovalKind(row.kind),
        model_name=row.model_name,
        version=int(row.version),
        target=json.loads(row.target),
        requested_by=row.requested_by,
        reason=row.reason,
        status=ApprovalStatus(row.status),
        created_ms=int(row.created_ms),
        updated_ms=int(row.updated_ms),
        decisions=tuple(
            ApprovalDecision(approver=d.approver, approved=bool(d.approved), comment=d.comment, time_ms=int(d.time_ms))
            for d in decisions
        ),
    )
