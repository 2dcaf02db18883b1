"""@champion follows promotions and rollbacks when it named the primary they replaced, and only then."""

from __future__ import annotations

import pytest

from modelyard.config import Settings
from modelyard.domain.governance import ApprovalPolicy
from modelyard.domain.serving import VariantMode, VariantSpec
from modelyard.sdk import champion
from modelyard.sdk.backends.local import LocalBackend, local_backend
from tests.serving._deployed import Constant, classifier, register


@pytest.fixture
def backend(sdk_settings: Settings) -> LocalBackend:
    register(sdk_settings, "churn", [classifier(0.0), Constant(1), Constant(0)], champion=1)
    register(sdk_settings, "fraud", [classifier(0.0)], champion=1)
    return local_backend(sdk_settings)


def champion_of(backend: LocalBackend, name: str = "churn") -> int:
    return backend.aliases.get_version(name, "champion").version


def deploy_canary(backend: LocalBackend, canary: str, primary: str = "models:/churn@champion") -> None:
    backend.deployments.deploy(
        "churn-api", [VariantSpec(uri=primary), VariantSpec(uri=canary, mode=VariantMode.CANARY, weight=10)]
    )


def test_champion_follows_a_promotion_and_the_rollback_that_undoes_it(backend: LocalBackend) -> None:
    deploy_canary(backend, "models:/churn/2")
    promoted, moved = champion.promote(backend.deployments, backend.aliases, "churn-api")
    assert moved is not None and moved.moved and (moved.from_version, moved.to_version) == (1, 2)
    assert champion_of(backend) == 2 and promoted.primary is not None and promoted.primary.version == 2

    rolled, back = champion.rollback(backend.deployments, backend.aliases, "churn-api")
    assert back is not None and back.moved and (back.from_version, back.to_version) == (2, 1)
    assert champion_of(backend) == 1 and rolled.primary is not None and rolled.primary.version == 1
    moves = backend.audit.search(object_kind="registered_model", object_id="churn", action="alias.set")
    assert [(e.details["previous"], e.details["version"]) for e in moves[-2:]] == [(1, 2), (2, 1)]


def test_a_champion_managed_elsewhere_is_left_alone(backend: LocalBackend) -> None:
    backend.aliases.set("churn", "champion", 3)  # the team points @champion at a version that does not serve
    deploy_canary(backend, "models:/churn/2", primary="models:/churn/1")
    _, moved = champion.promote(backend.deployments, backend.aliases, "churn-api")
    assert moved is None and champion_of(backend) == 3


def test_another_model_taking_over_moves_no_alias(backend: LocalBackend) -> None:
    deploy_canary(backend, "models:/fraud/1")
    _, moved = champion.promote(backend.deployments, backend.aliases, "churn-api")
    assert moved is None and champion_of(backend) == 1 and champion_of(backend, "fraud") == 1


def test_a_protected_champion_gets_an_approval_request_not_a_silent_move(backend: LocalBackend) -> None:
    backend.approvals.set_policy(ApprovalPolicy(model_name="churn"))  # protects @champion
    deploy_canary(backend, "models:/churn/2")
    promoted, moved = champion.promote(backend.deployments, backend.aliases, "churn-api")
    assert promoted.primary is not None and promoted.primary.version == 2  # the promotion itself stands
    assert moved is not None and not moved.moved and moved.approval_request is not None
    assert champion_of(backend) == 1
    [request] = [r for r in backend.approvals.list() if r.id == moved.approval_request]
    assert request.target == {"alias": "champion"} and request.version == 2
    assert f"awaits approval #{request.id}" in moved.describe()
