"""Each role against each protected operation, allowed and denied; denials named and audited."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

from modelyard.domain.governance import ApprovalPolicy, Scope
from modelyard.errors import Conflict, PermissionDenied
from modelyard.tracking import make_metric
from tests.governance.conftest import ADMIN, As, World

ROLES = ["viewer", "contributor", "approver", "admin"]


def _register(w: World, me: As) -> None:
    logged = w.backend.logged_models.list_for_run(w.backend.model_versions.get("churn", 1).run_id)[0]
    me.versions.create("churn", logged.uri)


def _transition(w: World, me: As) -> None:
    me.stages.transition("churn", 1, "Staging")


def _approve(w: World, me: As) -> None:
    admin = w.as_user(ADMIN)
    admin.approvals.set_policy(ApprovalPolicy(model_name="churn"))
    with pytest.raises(Conflict) as pending:
        admin.stages.transition("churn", 1, "Production", reason="ready")
    me.approvals.approve(pending.value.details["approval_request"], "looks good")


def _manage(w: World, me: As) -> None:
    me.identity.create_user("newcomer", role="viewer")


def _read(w: World, me: As) -> None:
    me.approvals.list()


def _track(w: World, me: As) -> None:
    experiment_id = w.backend.experiments.get_or_create("governance").experiment_id
    run = me.runs.create(experiment_id, user="bob")
    me.runs.log_params(run.info.run_id, {"lr": 0.1})
    me.metrics.log(run.info.run_id, [make_metric("loss", 0.5)])
    me.runs.end(run.info.run_id)


def _log_dataset(w: World, me: As) -> None:
    me.datasets.log(pd.DataFrame({"x": [1, 2, 3]}), "bob-data", user="bob")


def _create_experiment(w: World, me: As) -> None:
    me.experiments.create("bob-experiment")


# operation -> (what it does, the least role that may do it, the permission a denial names)
OPERATIONS: dict[str, tuple[Callable[[World, As], None], str, str]] = {
    "read": (_read, "viewer", "read"),
    "track": (_track, "contributor", "track"),
    "log_dataset": (_log_dataset, "contributor", "track"),
    "create_experiment": (_create_experiment, "contributor", "track"),
    "register": (_register, "contributor", "register"),
    "transition": (_transition, "contributor", "transition"),
    "approve": (_approve, "approver", "approve"),
    "manage": (_manage, "admin", "manage"),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_role_against_operation(sqlite_world: World, role: str, operation: str) -> None:
    sqlite_world.train()
    run, needed, permission = OPERATIONS[operation]
    me = sqlite_world.user("bob", role)
    if ROLES.index(role) >= ROLES.index(needed):
        run(sqlite_world, me)
        return
    with pytest.raises(PermissionDenied) as denied:
        run(sqlite_world, me)
    assert f"lacks the {permission!r} permission" in denied.value.message
    assert f"has {role}" in denied.value.message
    # The denial outlives the rolled-back operation.
    events = sqlite_world.as_user(ADMIN).audit.search(action="permission.denied", actor="bob")
    assert [e.object_id for e in events] == [permission]


def test_scoped_binding_applies_to_its_model_only(sqlite_world: World) -> None:
    sqlite_world.train("churn")
    sqlite_world.train("fraud")
    bob = sqlite_world.user("bob", "viewer")
    sqlite_world.as_user(ADMIN).identity.grant("bob", "contributor", Scope.model("churn"))
    assert bob.stages.transition("churn", 1, "Staging").stage.value == "Staging"
    with pytest.raises(PermissionDenied, match="on registered_model 'fraud'"):
        bob.stages.transition("fraud", 1, "Staging")


def test_first_local_user_is_admin_later_ones_viewers(sqlite_world: World) -> None:
    sqlite_world.train()  # alice acts first on this store
    _, admin_role = sqlite_world.as_user(ADMIN).identity.whoami()
    _, carol_role = sqlite_world.as_user("carol").identity.whoami()
    assert (admin_role and admin_role.label, carol_role and carol_role.label) == ("admin", "viewer")
    carol = sqlite_world.as_user("carol")
    assert [v.version for v in carol.versions.list("churn")] == [1]  # a made-up name may read
    with pytest.raises(PermissionDenied, match=r"has viewer.*`modelyard users create carol --role contributor`"):
        carol.aliases.set("churn", "champion", 1)  # ... and change nothing
    with pytest.raises(PermissionDenied):
        carol.identity.create_user("dave")
    assert [u.name for u, _ in sqlite_world.as_user(ADMIN).identity.list_users()] == [ADMIN]
    sqlite_world.as_user(ADMIN).identity.create_user("carol", role="contributor")  # an admin says otherwise
    assert carol.aliases.set("churn", "champion", 1).version == 1
