"""Four eyes: requests, the requester refused, preconditions, N approvers, protected aliases."""

from __future__ import annotations

import pytest

from modelyard.domain.governance import GATE_BLESSED_TAG, ApprovalPolicy, ApprovalStatus
from modelyard.errors import Conflict, InvalidInput, PermissionDenied
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


def test_missing_precondition_refuses_approval(world: World) -> None:
    request_id = _request(world, require_gate_blessing=True, require_model_card=True)
    carol = world.user("carol", "approver")
    with pytest.raises(Conflict, match="gate blessing") as refused:
        carol.approvals.approve(request_id)
    assert "complete model card" in refused.value.message
    assert carol.approvals.get(request_id).decisions == ()
    world.backend.model_versions.set_tag("churn", 1, GATE_BLESSED_TAG, "true")
    world.as_user(ADMIN).cards.set_fields(
        "churn",
        1,
        {
            "intended_use": "rank customers by churn risk for retention offers",
            "out_of_scope_use": "credit decisions",
            "limitations": "trained on 6 rows",
            "ethical_considerations": "no protected attributes used",
            "caveats": "demo data",
        },
    )
    assert carol.approvals.approve(request_id).status is ApprovalStatus.APPLIED


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
