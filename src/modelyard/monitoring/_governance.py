"""Governance of monitoring: who may change what watches a deployment, and the audit events.

Changing a monitor or an alert rule changes who gets paged, and acknowledging or resolving an alert
silences it: each needs the ``deploy`` permission on the deployment watched (an operator's
permission; viewers only read), and each is audited in the caller's transaction. Windows and the
alerts their rules raise are the monitor's own work: audited under its name, never refused.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import Connection

from modelyard.clock import Clock
from modelyard.domain.governance import Permission, Scope
from modelyard.governance import actor_provider, require
from modelyard.store.repos import audit as audit_rows

MONITOR_ACTOR = "modelyard-monitor"


def record(
    conn: Connection,
    clock: Clock,
    actor: str | None,
    action: str,
    *,
    object_kind: str,
    object_id: str,
    details: dict[str, Any],
) -> None:
    """Append one event; non-finite figures (a PSI of inf) are kept as text, which JSON can hold."""
    audit_rows.append(
        conn,
        time_ms=clock.now_ms(),
        actor=actor or MONITOR_ACTOR,
        action=action,
        object_kind=object_kind,
        object_id=object_id,
        details={k: (str(v) if isinstance(v, float) and not math.isfinite(v) else v) for k, v in details.items()},
    )


def may_change(conn: Connection, clock: Clock, actor: str, deployment: str) -> None:
    """``PermissionDenied`` unless ``actor`` may deploy ``deployment`` (see the module docstring)."""
    who = actor_provider(actor or None)()
    require(conn, who, Permission.DEPLOY, Scope.deployment(deployment), now_ms=clock.now_ms())
