"""Lifecycle stage transitions, in one function so approvals and roles can be added in one place.

Rules: a version moves between None, Staging, Production and Archived freely, except that under
the default ``StagePolicy`` at most one version of a model is in Production. Moving a second one
there is ``Conflict`` unless ``archive_existing_versions`` is set, which archives the versions
already in the target stage in the same transaction (MLflow's flag, same meaning).
"""

from __future__ import annotations

from modelyard.clock import SYSTEM_CLOCK, Clock
from modelyard.domain.registry import ModelStage, ModelVersion, StagePolicy
from modelyard.errors import Conflict, InvalidInput
from modelyard.registry import _validation as check
from modelyard.registry._lookup import lock_model, require_version
from modelyard.store.db import Database
from modelyard.store.repos import model_versions as version_rows

_ARCHIVABLE_FROM = (ModelStage.STAGING, ModelStage.PRODUCTION)


class StageService:
    """Moves versions between lifecycle stages under a ``StagePolicy``."""

    def __init__(self, db: Database, clock: Clock = SYSTEM_CLOCK, policy: StagePolicy | None = None) -> None:
        self._db = db
        self._clock = clock
        self.policy = policy or StagePolicy()

    def transition(
        self,
        name: str,
        version: int | str,
        stage: ModelStage | str,
        *,
        archive_existing_versions: bool = False,
    ) -> ModelVersion:
        """Move ``version`` of ``name`` to ``stage``; the only code path that changes a stage."""
        number = check.version_number(version)
        target = ModelStage.parse(stage)
        if archive_existing_versions and target not in _ARCHIVABLE_FROM:
            raise InvalidInput(f"archive_existing_versions only applies to Staging or Production, not {target.value}")
        now = self._clock.now_ms()
        with self._db.begin() as conn:
            lock_model(conn, name, now_ms=now)
            current = require_version(conn, name, number)
            others = [
                v.version
                for v in version_rows.search(
                    conn, version_rows.VersionFilter(names=[name], stages=[target]), max_results=1_000_000, offset=0
                )
                if v.version != number
            ]
            if archive_existing_versions:
                version_rows.set_stage(conn, name, others, ModelStage.ARCHIVED, now_ms=now)
            elif target is ModelStage.PRODUCTION and self.policy.exclusive_production and others:
                listed = ", ".join(str(v) for v in others)
                raise Conflict(
                    f"version {listed} of {name!r} is already in Production and only one may be; "
                    "pass archive_existing_versions (CLI: --archive-existing) to archive it"
                )
            if current.stage is not target:
                version_rows.set_stage(conn, name, [number], target, now_ms=now)
            return require_version(conn, name, number)
