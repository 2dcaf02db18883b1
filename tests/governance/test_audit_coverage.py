"""Every state-changing method of every governed service appends an audit event.

The test lists each service's public methods itself: a method is a read (named in ``READS``), an
exemption with its reason (``EXEMPT``), or a change with a scenario below that performs it and must
move the audit chain's head. A new method that is none of these fails the test, so a change cannot
be added without either an audit event or a stated reason.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
from sklearn.linear_model import LogisticRegression
from sqlalchemy import func, select

from modelyard.data import DatasetService
from modelyard.domain.governance import ApprovalKind, ApprovalPolicy, Scope
from modelyard.domain.serving import VariantMode, VariantSpec
from modelyard.errors import ApprovalPending
from modelyard.governance import ApprovalService, IdentityService, ModelCardService
from modelyard.registry import (
    AliasService,
    LoggedModelService,
    ModelVersionService,
    RegisteredModelService,
    StageService,
)
from modelyard.serving.deployments import DeploymentService
from modelyard.store.tables.governance import audit_events
from modelyard.tracking import ExperimentService, RunPurgeService, RunService
from tests.governance.conftest import ADMIN, World

SERVICES: tuple[type, ...] = (
    ExperimentService,
    RunService,
    RunPurgeService,
    DatasetService,
    LoggedModelService,
    RegisteredModelService,
    ModelVersionService,
    AliasService,
    StageService,
    DeploymentService,
    IdentityService,
    ApprovalService,
    ModelCardService,
)

READS = {
    "authenticate", "card", "children", "diff", "find", "get", "get_by_name", "get_many", "get_policy",
    "get_version", "history", "inputs_of_run", "list", "list_datasets", "list_for_run", "list_tokens",
    "list_users", "list_versions", "load", "read_bytes", "resolve", "resolve_id", "revisions", "runs_of",
    "search", "whoami",
}  # fmt: skip

EXEMPT = {
    "RunService.heartbeat": "liveness every few seconds, not a change of what the run is",
    "StageService.apply_stage_request": "runs inside ApprovalService.approve, whose scenario covers it",
    "AliasService.apply_alias_request": "runs inside ApprovalService.approve, whose scenario covers it",
    "IdentityService.check_password": "verifies a credential, changes nothing",
    "IdentityService.login": "creates a session token, audited as session.created (tests/server cover it)",
    "DeploymentService.set_features": "audited by the deployment change it makes (tests/features/test_enrich.py)",
    "LoggedModelService.record_uploaded": "audited as the logged model it records (tests/server parity suite)",
}


@dataclass
class Ctx:
    """What the scenarios share: the store, ids made along the way."""

    world: World
    ids: dict[str, str] = field(default_factory=dict)

    @property
    def b(self):  # type: ignore[no-untyped-def]
        return self.world.backend


def _head(ctx: Ctx) -> int:
    with ctx.b.db.read() as conn:
        return int(conn.execute(select(func.coalesce(func.max(audit_events.c.seq), 0))).scalar_one())


def _approval(ctx: Ctx, version: int) -> int:
    """A pending Production request for ``version`` of churn (bob asks), for approve and reject."""
    bob = ctx.world.as_user("bob")
    try:
        bob.stages.transition("churn", version, "Production", archive_existing_versions=True)
    except ApprovalPending as pending:
        return int(pending.details["approval_request"])
    raise AssertionError("expected a pending approval")


def _appliers(ctx: Ctx) -> ApprovalService:
    db = ctx.b.db
    stages, aliases = StageService(db, actor="carol"), AliasService(db, actor="carol")
    return ApprovalService(
        db,
        actor="carol",
        appliers={
            ApprovalKind.STAGE_TRANSITION: stages.apply_stage_request,
            ApprovalKind.PROTECTED_ALIAS: aliases.apply_alias_request,
        },
    )


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "y": [0, 0, 1, 1]})


SCENARIOS: dict[str, Callable[[Ctx], object]] = {
    "ExperimentService.create": lambda c: c.ids.setdefault("exp", c.b.experiments.create("audited")),
    "ExperimentService.get_or_create": lambda c: c.b.experiments.get_or_create("made-on-demand"),
    "ExperimentService.rename": lambda c: c.b.experiments.rename(c.ids["exp"], "audited-renamed"),
    "ExperimentService.set_tag": lambda c: c.b.experiments.set_tag(c.ids["exp"], "team", "risk"),
    "ExperimentService.delete": lambda c: c.b.experiments.delete(c.ids["exp"]),
    "ExperimentService.restore": lambda c: c.b.experiments.restore(c.ids["exp"]),
    "RunService.create": lambda c: c.ids.setdefault("run", c.b.runs.create(c.ids["exp"], user=ADMIN).info.run_id),
    "RunService.log_params": lambda c: c.b.runs.log_params(c.ids["run"], {"lr": 0.1}),
    "RunService.set_tags": lambda c: c.b.runs.set_tags(c.ids["run"], {"team": "risk"}),
    "RunService.delete_tag": lambda c: c.b.runs.delete_tag(c.ids["run"], "team"),
    "RunService.log_batch": lambda c: c.b.runs.log_batch(c.ids["run"], tags={"stage": "dev"}),
    "RunService.rename": lambda c: c.b.runs.rename(c.ids["run"], "renamed"),
    "RunService.end": lambda c: c.b.runs.end(c.ids["run"]),
    "RunService.reopen": lambda c: c.b.runs.reopen(c.ids["run"]),
    "RunService.gc": lambda c: c.b.runs.gc(-1.0),  # every RUNNING run counts as dead
    "RunService.delete": lambda c: c.b.runs.delete(c.ids["run"]),
    "RunService.restore": lambda c: c.b.runs.restore(c.ids["run"]),
    "RunPurgeService.purge_deleted": lambda c: c.b.purge.purge_deleted(run_ids=[c.ids["doomed"]]),
    "DatasetService.log": lambda c: c.ids.setdefault("data", c.b.datasets.log(_frame(), "toy", user=ADMIN).uri),
    "DatasetService.add_input": lambda c: c.b.datasets.add_input(c.ids["data"], c.ids["run"]),
    "LoggedModelService.log": lambda c: c.ids.setdefault(
        "model", c.b.logged_models.log(c.ids["run"], LogisticRegression().fit(_frame()[["x"]], _frame()["y"])).uri
    ),
    "RegisteredModelService.create": lambda c: c.b.registered_models.create("fraud"),
    "RegisteredModelService.update": lambda c: c.b.registered_models.update("fraud", description="d"),
    "RegisteredModelService.set_tag": lambda c: c.b.registered_models.set_tag("fraud", "team", "risk"),
    "RegisteredModelService.delete_tag": lambda c: c.b.registered_models.delete_tag("fraud", "team"),
    "RegisteredModelService.delete": lambda c: c.b.registered_models.delete("fraud"),
    "ModelVersionService.create": lambda c: c.b.model_versions.create("churn", c.ids["model"], create_model=True),
    "ModelVersionService.update": lambda c: c.b.model_versions.update("churn", 1, description="d"),
    "ModelVersionService.set_tag": lambda c: c.b.model_versions.set_tag("churn", 1, "team", "risk"),
    "ModelVersionService.delete_tag": lambda c: c.b.model_versions.delete_tag("churn", 1, "team"),
    "ModelVersionService.record_gate_verdict": lambda c: c.b.model_versions.record_gate_verdict(
        "churn", 1, blessed=True, verdict_uri="runs:/x/gate/verdict.json"
    ),
    "ModelVersionService.record_assessment": lambda c: c.b.model_versions.record_assessment(
        "churn", 1, "modelyard.fairness.summary", '{"groups": []}'
    ),
    "IdentityService.set_password": lambda c: c.b.identity.set_password("correct horse battery"),
    "ModelVersionService.delete": lambda c: c.b.model_versions.delete("churn", 3),
    "AliasService.set": lambda c: c.b.aliases.set("churn", "challenger", 1),
    "AliasService.delete": lambda c: c.b.aliases.delete("churn", "challenger"),
    "StageService.transition": lambda c: c.b.stages.transition("churn", 1, "Staging"),
    "DeploymentService.deploy": lambda c: c.b.deployments.deploy(
        "api",
        [VariantSpec(uri="models:/churn/1"), VariantSpec(uri="models:/churn/2", mode=VariantMode.CANARY, weight=10)],
    ),
    "DeploymentService.set_traffic": lambda c: c.b.deployments.set_traffic("api", {"canary": 20}),
    "DeploymentService.set_batching": lambda c: c.b.deployments.set_batching("api", None),
    "DeploymentService.set_explain_sample": lambda c: c.b.deployments.set_explain_sample("api", 0.05),
    "DeploymentService.promote": lambda c: c.b.deployments.promote("api"),
    "DeploymentService.rollback": lambda c: c.b.deployments.rollback("api"),
    "DeploymentService.undeploy": lambda c: c.b.deployments.undeploy("api"),
    "IdentityService.create_user": lambda c: c.b.identity.create_user("dave", role="viewer"),
    "IdentityService.grant": lambda c: c.b.identity.grant("dave", "contributor", Scope.model("churn")),
    "IdentityService.revoke": lambda c: c.b.identity.revoke("dave", Scope.model("churn")),
    "IdentityService.create_token": lambda c: c.ids.setdefault("token", c.b.identity.create_token()[0].id),
    "IdentityService.revoke_token": lambda c: c.b.identity.revoke_token(c.ids["token"]),
    "ApprovalService.set_policy": lambda c: c.b.approvals.set_policy(ApprovalPolicy(model_name="churn")),
    "ApprovalService.approve": lambda c: _appliers(c).approve(_approval(c, 1)),
    "ApprovalService.reject": lambda c: _appliers(c).reject(_approval(c, 2)),
    "ModelCardService.set_fields": lambda c: ModelCardService(c.b.db, actor=ADMIN).set_fields(
        "churn", 1, {"intended_use": "tests"}
    ),
}


# Run before a scenario, outside what it is measured on: what it needs that no scenario made.
SETUP: dict[str, Callable[[Ctx], object]] = {
    "RunPurgeService.purge_deleted": lambda c: c.b.runs.delete(
        c.ids.setdefault("doomed", c.b.runs.create(c.ids["exp"], user=ADMIN).info.run_id)
    ),
    "ModelVersionService.create": lambda c: c.b.model_versions.create("churn", c.ids["model"], create_model=True),
    "ModelVersionService.delete": lambda c: c.b.model_versions.create("churn", c.ids["model"]),  # version 3
}


def _methods(cls: type) -> list[str]:
    return [
        name
        for name, member in vars(cls).items()
        if not name.startswith("_") and inspect.isfunction(member) and name not in READS
    ]


def test_every_state_changing_service_method_is_audited(world: World) -> None:
    world.user("bob", "contributor")
    world.user("carol", "approver")
    ctx = Ctx(world=world)
    listed = [f"{cls.__name__}.{name}" for cls in SERVICES for name in _methods(cls)]
    unclassified = sorted(set(listed) - set(SCENARIOS) - set(EXEMPT))
    assert not unclassified, f"add a scenario (or an exemption with its reason) for {unclassified}"
    assert not set(SCENARIOS) - set(listed), "a scenario names a method that no longer exists"

    silent = []
    # Run in the dictionary's order: later scenarios use what earlier ones made.
    for method, scenario in SCENARIOS.items():
        if method in SETUP:
            SETUP[method](ctx)
        before = _head(ctx)
        scenario(ctx)
        with world.backend.db.read() as conn:
            actions = conn.execute(select(audit_events.c.action).where(audit_events.c.seq > before)).scalars().all()
        if not [a for a in actions if a != "permission.denied"]:
            silent.append(method)
    assert silent == [], f"these changed state without an audit event: {silent}"
    assert world.backend.audit.verify().ok
