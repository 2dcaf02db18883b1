"""The audit events of monitoring: alerts raised, monitors and alert rules changed.

Changing what watches a deployment changes who gets paged, so it is audited like the alerts
themselves, in the caller's transaction; the actor of a background check is the monitor itself.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import Connection

from modelyard.clock import Clock
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
