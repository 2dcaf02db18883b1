"""The one-query permission check, on both engines: nothing is cached between calls (a revoked
role or a disabled user is refused on the very next call of the same service), a disabled user is
refused whatever role they hold, the role is the highest of the global and the scope binding, only the
store's creator is provisioned (other local names are viewers), and every run change is still audited with its actor."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from modelyard.domain.governance import Actor, Role, Scope
from modelyard.domain.tracking import RunStatus
from modelyard.errors import PermissionDenied, Unauthenticated
from modelyard.governance import effective_role
from modelyard.store.tables.governance import users
from modelyard.tracking import RunService, make_metric
from tests.governance.conftest import ADMIN, World


def _experiment(world: World, name: str = "scoped") -> str:
    return world.backend.experiments.get_or_create(name).experiment_id


def test_revoked_role_is_refused_on_the_very_next_call(world: World) -> None:
    experiment_id = _experiment(world)
    bob = world.user("bob", "viewer")
    world.as_user(ADMIN).identity.grant("bob", "contributor", Scope.experiment(experiment_id))
    run_id = bob.runs.create(experiment_id, user="bob").info.run_id
    bob.runs.log_params(run_id, {"lr": 0.1})

    world.as_user(ADMIN).identity.revoke("bob", Scope.experiment(experiment_id))

    with pytest.raises(PermissionDenied, match="has viewer"):
        bob.runs.log_params(run_id, {"depth": 3})  # the same service object, the next call
    assert world.backend.runs.get(run_id).data.params == {"lr": "0.1"}


@pytest.mark.parametrize("role", ["admin", None])
def test_disabled_user_is_refused_whatever_their_role(world: World, role: str | None) -> None:
    experiment_id = _experiment(world)
    bob = world.user("bob", "admin")
    run_id = bob.runs.create(experiment_id, user="bob").info.run_id
    if role is None:
        world.as_user(ADMIN).identity.revoke("bob")
    with world.backend.db.begin() as conn:
        conn.execute(update(users).where(users.c.name == "bob").values(disabled=True))

    with pytest.raises(PermissionDenied, match="user 'bob' is disabled"):
        bob.runs.end(run_id)

    assert world.backend.runs.get(run_id).info.status is RunStatus.RUNNING
    denials = world.as_user(ADMIN).audit.search(action="permission.denied", actor="bob")
    assert [e.details["message"] for e in denials] == ["user 'bob' is disabled"]


def test_role_is_the_highest_of_global_and_scope_binding(world: World) -> None:
    experiment_id = _experiment(world)
    other_id = _experiment(world, "other")
    admin = world.as_user(ADMIN).identity
    carol = world.user("carol", "contributor")
    admin.grant("carol", "viewer", Scope.experiment(experiment_id))  # a lower scoped role restricts nothing
    dave = world.user("dave", "viewer")
    admin.grant("dave", "contributor", Scope.experiment(experiment_id))

    carol.runs.create(experiment_id, user="carol")
    dave.runs.create(experiment_id, user="dave")
    with pytest.raises(PermissionDenied, match=f"on experiment '{other_id}'.*has viewer"):
        dave.runs.create(other_id, user="dave")

    with world.backend.db.read() as conn:
        assert effective_role(conn, "carol", Scope.experiment(experiment_id)) is Role.CONTRIBUTOR
        assert effective_role(conn, "dave", Scope.experiment(experiment_id)) is Role.CONTRIBUTOR
        assert effective_role(conn, "dave", Scope.experiment(other_id)) is Role.VIEWER
        assert effective_role(conn, "nobody") is Role.VIEWER  # a name nobody created


def test_only_the_stores_creator_is_provisioned(world: World) -> None:
    experiment_id = _experiment(world)  # the store's first user, ADMIN, is provisioned as admin here
    backend = world.backend
    by_token = RunService(backend.db, backend.artifact_store, actor=lambda: Actor(name="ghost", via="token"))

    with pytest.raises(Unauthenticated, match="unknown user 'ghost'"):
        by_token.create(experiment_id, user="ghost")
    with pytest.raises(PermissionDenied, match=r"'erin' lacks the 'track' permission.*has viewer"):
        world.as_user("erin").runs.create(experiment_id, user="erin")
    world.as_user("erin").audit.search()  # a read by a name nobody created writes nothing

    known = {u.name: [b.role for b in bindings] for u, bindings in world.as_user(ADMIN).identity.list_users()}
    assert known == {ADMIN: [Role.ADMIN]}
    denied = world.as_user(ADMIN).audit.search(actor="erin")
    assert [e.action for e in denied] == ["permission.denied"]


def test_every_run_change_is_audited_with_its_actor(world: World) -> None:
    experiment_id = _experiment(world)
    bob = world.user("bob", "contributor")
    run_ids = []
    for i in range(3):
        run_id = bob.runs.create(experiment_id, user="bob").info.run_id
        bob.runs.log_params(run_id, {"i": i})
        bob.runs.end(run_id, metrics=[make_metric("loss", 0.1 * i)])
        run_ids.append(run_id)

    audit = world.as_user(ADMIN).audit
    events = audit.search(object_kind="run", actor="bob")
    steps = ("run.created", "run.params_logged", "run.ended")
    assert [(e.object_id, e.action) for e in events] == [(r, a) for r in run_ids for a in steps]
    logged = [e.details["params"] for e in events if e.action == "run.params_logged"]
    assert logged == [{"i": "0"}, {"i": "1"}, {"i": "2"}]
    verified = audit.verify()
    assert verified.ok and verified.head_seq == events[-1].seq


def test_reads_on_a_brand_new_store_write_nothing(world: World) -> None:
    reader = world.as_user("osuser")
    assert reader.audit.search() == []
    assert reader.approvals.list() == []
    _, role = reader.identity.whoami()
    assert role is Role.VIEWER
    assert reader.audit.verify().events == 0  # no user provisioned, no event appended
    world.train()  # the first change makes its author (ADMIN here) the store's admin
    assert [u.name for u, _ in world.as_user(ADMIN).identity.list_users()] == [ADMIN]
