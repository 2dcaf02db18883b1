"""Four eyes: requests, the requester refused, preconditions, N approvers, protected aliases."""

from __future__ import annotations

import pytest

from modelyard.domain.governance import GATE_BLESSED_TAG, ApprovalPolicy, ApprovalStatus
from modelyard.domain.serving import VariantMode, VariantSpec
from modelyard.errors import ApprovalPending, Conflict, InvalidInput, PermissionDenied
from tests.governance.conftest import ADMIN, World


def _request(world: World, requester: str = "bob", **policy: object) -> int:
    world.train()
    world.as_user(ADMIN).approvals.set_policy(ApprovalPolicy(model_name="churn", **policy))  # type: ignore[arg-type]
    bob = world.user(requester, "contributor")
    with pytest.raises(Conflict, match="pending approval #") as pending:
        bob.stages.transition("churn", 1, "Production", reason="beats the champion")
    return int(pending.value.details["approval_request"])


def test_transition_waits_for_an_approver_then_applies(world: World) -> None:
    request_id = _request(world, require_no_open_alert=True)  # no deployment serves it: nothing blocks
    assert world.backend.model_versions.get("churn", 1).stage.value == "None"
    carol = world.user("carol", "approver")
    done = carol.approvals.approve(request_id, "checked the eval report")
    assert done.status is ApprovalStatus.APPLIED
    assert [(d.approver, d.approved) for d in done.decisions] == [("carol", True)]
    assert world.backend.model_versions.get("churn", 1).stage.value == "Production"
    changes = world.as_user(ADMIN).audit.search(object_id="churn/1", action="model_version.stage_changed")
    assert [(e.actor, e.details["to"], e.details["approval"]) for e in changes] == [("carol", "Production", request_id)]


def test_requester_cannot_approve_own_request(world: World) -> None:
    world.train()
    admin = world.as_user(ADMIN)
    admin.approvals.set_policy(ApprovalPolicy(model_name="churn"))
    with pytest.raises(Conflict) as pending:
        admin.stages.transition("churn", 1, "Production")
    request_id = pending.value.details["approval_request"]
    with pytest.raises(PermissionDenied, match="four-eyes"):
        admin.approvals.approve(request_id)
    assert admin.approvals.get(request_id).status is ApprovalStatus.PENDING
    assert world.backend.model_versions.get("churn", 1).stage.value == "None"


CARD = {
    "intended_use": "rank customers by churn risk for retention offers",
    "out_of_scope_use": "credit decisions",
    "limitations": "trained on 6 rows",
    "ethical_considerations": "no protected attributes used",
    "caveats": "demo data",
}


def test_request_that_could_not_be_applied_is_refused_when_made(world: World) -> None:
    world.train()
    world.as_user(ADMIN).approvals.set_policy(ApprovalPolicy(model_name="churn", require_model_card=True))
    bob = world.user("bob", "contributor")
    with pytest.raises(Conflict, match="cannot be put up for approval yet") as refused:
        bob.stages.transition("churn", 1, "Production")
    assert not isinstance(refused.value, ApprovalPending)
    assert "`modelyard models card churn/1 --set intended_use=..." in refused.value.message
    assert bob.approvals.list() == []  # nothing stuck waiting

    world.as_user(ADMIN).cards.set_fields("churn", 1, CARD)
    with pytest.raises(ApprovalPending, match="requested as pending approval #1"):
        bob.stages.transition("churn", 1, "Production")
    world.user("carol", "approver").approvals.approve(1)
    assert world.backend.model_versions.get("churn", 1).stage.value == "Production"

    # Version 2 cannot join version 1 in Production: said at request time, not at approval.
    world.train()
    world.as_user(ADMIN).cards.set_fields("churn", 2, CARD)
    with pytest.raises(Conflict, match=r"already in Production.*--archive-existing"):
        bob.stages.transition("churn", 2, "Production")
    assert [r.id for r in bob.approvals.list()] == [1]
    with pytest.raises(ApprovalPending) as pending:
        bob.stages.transition("churn", 2, "Production", archive_existing_versions=True)
    request_id = pending.value.details["approval_request"]

    # Checked again at approval: the card lost a field meanwhile.
    world.as_user(ADMIN).cards.set_fields("churn", 2, {"caveats": ""})
    carol = world.as_user("carol")
    with pytest.raises(Conflict, match="complete model card"):
        carol.approvals.approve(request_id)
    world.as_user(ADMIN).cards.set_fields("churn", 2, CARD)
    assert carol.approvals.approve(request_id).status is ApprovalStatus.APPLIED
    stages = {v.version: v.stage.value for v in world.backend.model_versions.list("churn")}
    assert stages == {1: "Archived", 2: "Production"}


def test_two_approvers_needed(world: World) -> None:
    request_id = _request(world, required_approvers=2)
    carol, dave = world.user("carol", "approver"), world.user("dave", "approver")
    assert carol.approvals.approve(request_id).status is ApprovalStatus.PENDING
    with pytest.raises(Conflict, match="already decided"):
        carol.approvals.approve(request_id)
    assert world.backend.model_versions.get("churn", 1).stage.value == "None"
    assert dave.approvals.approve(request_id).status is ApprovalStatus.APPLIED
    assert world.backend.model_versions.get("churn", 1).stage.value == "Production"


def test_rejected_request_changes_nothing(world: World) -> None:
    request_id = _request(world)
    carol = world.user("carol", "approver")
    assert carol.approvals.reject(request_id, "metrics too thin").status is ApprovalStatus.REJECTED
    with pytest.raises(Conflict, match="rejected, not pending"):
        carol.approvals.approve(request_id)
    assert world.backend.model_versions.get("churn", 1).stage.value == "None"


def test_protected_alias_goes_through_approval(world: World) -> None:
    world.train()
    world.as_user(ADMIN).approvals.set_policy(ApprovalPolicy(model_name="churn", protected_aliases=("champion",)))
    bob = world.user("bob", "contributor")
    assert bob.aliases.set("churn", "challenger", 1).version == 1  # not protected
    with pytest.raises(Conflict, match="protected") as pending:
        bob.aliases.set("churn", "champion", 1)
    with pytest.raises(Exception, match="champion"):
        world.backend.aliases.get_version("churn", "champion")
    world.user("carol", "approver").approvals.approve(pending.value.details["approval_request"])
    assert world.backend.aliases.get_version("churn", "champion").version == 1


def test_policy_stage_and_alias_names_are_checked(world: World) -> None:
    world.train()
    admin = world.as_user(ADMIN).approvals
    with pytest.raises(InvalidInput, match="unknown stage 'Prodution'; use one of None, Staging, Production"):
        admin.set_policy(ApprovalPolicy(model_name="churn", stages=("Prodution",)))
    with pytest.raises(InvalidInput, match="cannot be protected"):
        admin.set_policy(ApprovalPolicy(model_name="churn", protected_aliases=("champion\n",)))
    assert admin.get_policy("churn") is None  # nothing half-set
    # Any spelling of a real stage protects that stage: "production" is Production.
    assert admin.set_policy(ApprovalPolicy(model_name="churn", stages=("production",))).stages == ("Production",)
    bob = world.user("bob", "contributor")
    with pytest.raises(Conflict, match="pending approval #"):
        bob.stages.transition("churn", 1, "Production")
    assert world.backend.model_versions.get("churn", 1).stage.value == "None"


def test_protected_version_is_not_deleted_or_archived_without_approval(world: World) -> None:
    world.train()
    admin = world.as_user(ADMIN)
    admin.aliases.set("churn", "champion", 1)  # before the policy: no approval yet
    admin.approvals.set_policy(ApprovalPolicy(model_name="churn"))
    bob = world.user("bob", "contributor")
    with pytest.raises(Conflict, match="holds @champion, which the approval policy protects"):
        bob.versions.delete("churn", 1)
    with pytest.raises(Conflict, match="holds @champion"):
        bob.models.delete("churn")
    with pytest.raises(ApprovalPending) as pending:
        bob.stages.transition("churn", 1, "Archived")
    assert world.backend.aliases.get_version("churn", "champion").version == 1
    assert world.backend.model_versions.get("churn", 1).stage.value == "None"
    world.user("carol", "approver").approvals.approve(pending.value.details["approval_request"])
    assert world.backend.model_versions.get("churn", 1).stage.value == "Archived"


def test_leaving_a_protected_stage_needs_approval(world: World) -> None:
    request_id = _request(world)
    carol = world.user("carol", "approver")
    carol.approvals.approve(request_id)
    bob = world.as_user("bob")
    with pytest.raises(ApprovalPending):
        bob.stages.transition("churn", 1, "Archived")  # removing the Production model is a protected change
    with pytest.raises(ApprovalPending):
        bob.stages.transition("churn", 1, "Staging")
    assert world.backend.model_versions.get("churn", 1).stage.value == "Production"


def test_served_version_cannot_be_deleted(world: World) -> None:
    world.train()
    world.train()
    world.backend.deployments.deploy("churn-api", [VariantSpec(uri="models:/churn/1")])
    with pytest.raises(Conflict, match=r"served by deployment churn-api \(primary: v1\)"):
        world.backend.model_versions.delete("churn", 1)
    with pytest.raises(Conflict, match="served by deployment churn-api"):
        world.backend.registered_models.delete("churn")
    world.backend.model_versions.delete("churn", 2)  # not served: goes
    assert [v.version for v in world.backend.model_versions.list("churn")] == [1]


def test_requester_cannot_bless_their_own_version(world: World) -> None:
    world.train()
    world.as_user(ADMIN).approvals.set_policy(ApprovalPolicy(model_name="churn", require_gate_blessing=True))
    bob = world.user("bob", "contributor")
    for key in (GATE_BLESSED_TAG, "Modelyard.gate.blessed", "modelyard.anything"):
        with pytest.raises(InvalidInput, match="reserved"):
            bob.versions.set_tag("churn", 1, key, "true")
    with pytest.raises(InvalidInput, match="reserved"):
        bob.models.set_tag("churn", GATE_BLESSED_TAG, "true")
    with pytest.raises(InvalidInput, match="reserved"):
        bob.versions.delete_tag("churn", 1, GATE_BLESSED_TAG)
    with pytest.raises(Conflict, match="gate blessing"):
        bob.stages.transition("churn", 1, "Production")
    # The gate step records its verdict through the one writer of those tags, audited.
    world.backend.model_versions.record_gate_verdict(
        "churn", 1, blessed=True, verdict_uri="runs:/abc/gate/verdict.json"
    )
    with pytest.raises(ApprovalPending):
        bob.stages.transition("churn", 1, "Production")
    events = world.as_user(ADMIN).audit.search(action="model_version.gate_recorded")
    assert [(e.object_id, e.details["tags"][GATE_BLESSED_TAG]) for e in events] == [("churn/1", "true")]


def test_policy_can_protect_deployments(world: World) -> None:
    world.train()
    world.train()
    admin = world.as_user(ADMIN)
    admin.aliases.set("churn", "champion", 1)
    admin.approvals.set_policy(ApprovalPolicy(model_name="churn", protect_deployments=True))
    bob = world.user("bob", "contributor")
    assert bob.deployments.deploy("api", [VariantSpec(uri="models:/churn@champion")]).revision == 1  # holds @champion
    canary = VariantSpec(uri="models:/churn/2", mode=VariantMode.CANARY, weight=10)
    with pytest.raises(ApprovalPending, match=r"churn/2 as #1.*run the same command again"):
        bob.deployments.deploy("api", [VariantSpec(uri="models:/churn/1"), canary])
    assert world.backend.deployments.get("api").revision == 1  # nothing served meanwhile
    silent = VariantSpec(uri="models:/churn/2", mode=VariantMode.CANARY, weight=0)
    assert bob.deployments.deploy("api", [VariantSpec(uri="models:/churn/1"), silent]).revision == 2
    with pytest.raises(ApprovalPending, match="#2"):
        bob.deployments.set_traffic("api", {"canary": 20})  # traffic to it is serving it
    with pytest.raises(ApprovalPending, match="#3"):
        bob.deployments.deploy("other", [VariantSpec(uri="models:/churn/2")])  # per deployment

    carol = world.user("carol", "approver")
    with pytest.raises(PermissionDenied, match="lacks the 'approve' permission"):
        bob.approvals.approve(2)
    assert carol.approvals.approve(2).status is ApprovalStatus.APPLIED
    assert bob.deployments.set_traffic("api", {"canary": 20}).revision == 3
    assert bob.deployments.promote("api").primary.version == 2  # type: ignore[union-attr]
    with pytest.raises(ApprovalPending):
        bob.deployments.deploy("other", [VariantSpec(uri="models:/churn/2")])
