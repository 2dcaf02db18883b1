"""One suite, two backends: the SDK over the embedded store (SQLite) and through a real server
(over PostgreSQL) must give the same results and raise the same errors, for tracking, registry,
datasets and governance."""

from __future__ import annotations

import math
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from modelyard.data import canonicalize
from modelyard.domain.governance import ApprovalPolicy, ApprovalStatus
from modelyard.domain.tracking import RunStatus
from modelyard.errors import AlreadyExists, ApprovalPending, Conflict, InvalidInput, NotFound, PermissionDenied
from modelyard.sdk.client import Client


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# -- tracking ------------------------------------------------------------------------------------


def test_runs_params_metrics_tags_round_trip(parity_client: Client) -> None:
    c = parity_client
    exp = c.create_experiment(_name("exp"), tags={"team": "risk"})
    run = c.create_run(exp, run_name="rf", tags={"stage": "dev"})
    run_id = run.info.run_id
    c.log_params(run_id, {"n": 300, "model": "rf"})
    for step in range(25):
        c.log_metric(run_id, "loss", 1.0 / (step + 1), step=step, synchronous=False)  # buffered
    c.log_metric(run_id, "odd", math.nan)
    c.log_metric(run_id, "big", math.inf)
    c.log_batch(run_id, metrics=[], params={"lr": 0.1}, tags={"k": "v"})
    c.set_tag(run_id, "note", "x")
    c.set_terminated(run_id)
    got = c.get_run(run_id)
    assert got.info.status is RunStatus.FINISHED and got.info.run_name == "rf"
    assert got.data.params == {"n": "300", "model": "rf", "lr": "0.1"}
    assert {k: got.data.tags[k] for k in ("stage", "k", "note")} == {"stage": "dev", "k": "v", "note": "x"}
    assert got.data.metrics["loss"] == pytest.approx(1 / 25)
    assert math.isnan(got.data.metrics["odd"]) and got.data.metrics["big"] == math.inf
    history = c.get_metric_history(run_id, "loss")
    assert [m.step for m in history] == list(range(25))
    assert c.get_experiment(exp).tags == {"team": "risk"}


def test_errors_are_the_same_exceptions(parity_client: Client) -> None:
    c = parity_client
    exp = c.create_experiment(_name("exp"))
    with pytest.raises(AlreadyExists):
        c.create_experiment(c.get_experiment(exp).name)
    run_id = c.create_run(exp).info.run_id
    c.log_param(run_id, "a", 1)
    with pytest.raises((Conflict, InvalidInput), match="'1'"):
        c.log_param(run_id, "a", 2)
    with pytest.raises(NotFound):
        c.get_run("0" * 32)
    with pytest.raises(InvalidInput):
        c.search_runs([exp], "metrics.acc >>> 1")
    with pytest.raises(InvalidInput, match=r"\.\."):
        c.log_text(run_id, "x", "../escape.txt")
    assert c.get_experiment_by_name(_name("missing")) is None


def test_search_runs_filters_orders_and_pages(parity_client: Client) -> None:
    c = parity_client
    exp = c.create_experiment(_name("search"))
    for i in range(7):
        run_id = c.create_run(exp, run_name=f"r{i}").info.run_id
        c.log_batch(run_id, params={"i": i, "kind": "even" if i % 2 == 0 else "odd"})
        c.log_metric(run_id, "acc", i / 10)
        c.set_terminated(run_id)
    found = c.search_runs([exp], "params.kind = 'even' and metrics.acc >= 0.2", order_by=["metrics.acc DESC"])
    assert [r.info.run_name for r in found] == ["r6", "r4", "r2"]
    first = c.search_runs([exp], order_by=["metrics.acc ASC"], max_results=4)
    second = c.search_runs([exp], order_by=["metrics.acc ASC"], max_results=4, page_token=first.token)
    assert [r.info.run_name for r in [*first, *second]] == [f"r{i}" for i in range(7)] and second.token is None
    frame = c.search_runs([exp], "attributes.run_name = 'r3'")
    assert len(frame) == 1


def test_artifacts_upload_list_download(parity_client: Client, tmp_path: Path) -> None:
    c = parity_client
    run_id = c.create_run(c.create_experiment(_name("art"))).info.run_id
    big = tmp_path / "big.bin"
    big.write_bytes(np.random.default_rng(0).bytes(3 * 1024 * 1024 + 17))
    c.log_artifact(run_id, big, "data")
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("a")
    (folder / "sub" / "b.txt").write_text("b")
    c.log_artifacts(run_id, folder, "tree")
    c.log_dict(run_id, {"x": 1}, "conf/params.json")
    assert [(f.path, f.is_dir) for f in c.list_artifacts(run_id)] == [("conf", True), ("data", True), ("tree", True)]
    assert [f.file_size for f in c.list_artifacts(run_id, "data")] == [big.stat().st_size]
    out = Path(c.download_artifacts(run_id, "", tmp_path / "out"))
    assert (out / "data" / "big.bin").read_bytes() == big.read_bytes()
    assert (out / "tree" / "sub" / "b.txt").read_text() == "b"
    assert c.backend.artifacts.read_bytes(run_id, "conf/params.json").startswith(b"{")


# -- registry ------------------------------------------------------------------------------------


def _trained() -> tuple[LogisticRegression, pd.DataFrame]:
    x = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "b": [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]})
    return LogisticRegression().fit(x, [0, 0, 0, 1, 1, 1]), x


def test_log_register_alias_and_load_a_model(parity_client: Client) -> None:
    c = parity_client
    model, x = _trained()
    name = _name("churn")
    run_id = c.create_run(c.create_experiment(_name("models"))).info.run_id
    logged = c.registry.log_model(run_id, model, "model", input_example=x.head(2), registered_model_name=name)
    assert logged.flavor == "sklearn"
    versions = c.registry.search_model_versions(f"name = '{name}'")
    assert [v.version for v in versions] == [1]
    c.registry.set_registered_model_alias(name, "champion", 1)
    c.registry.set_registered_model_tag(name, "team", "risk")
    assert c.registry.get_registered_model(name).aliases == {"champion": 1}
    loaded = c.registry.load_model(f"models:/{name}@champion")
    assert list(loaded.predict(x)) == list(model.predict(x))
    again = c.registry.load_model(f"runs:/{run_id}/model")
    assert list(again.predict(x)) == list(model.predict(x))
    moved = c.registry.transition_model_version_stage(name, 1, "Staging")
    assert str(moved.current_stage) == "Staging"
    with pytest.raises(NotFound):
        c.registry.get_model_version(name, 9)
    with pytest.raises(AlreadyExists):
        c.registry.log_model(run_id, model, "model")


def test_purging_deleted_runs_keeps_what_a_model_version_came_from(parity_client: Client, tmp_path: Path) -> None:
    """``purge_deleted_runs`` removes a deleted run's rows and files the same way through a server,
    keeps a run a version was registered from (with the reason), audits, and checks permission."""
    c = parity_client
    model, x = _trained()
    exp = c.create_experiment(_name("purge"))
    gone, registered, active = (c.create_run(exp).info.run_id for _ in range(3))
    c.log_param(gone, "alpha", 0.1)
    c.log_metric(gone, "auc", 0.9)
    c.log_text(gone, "notes", "notes.txt")
    c.registry.log_model(registered, model, "model", input_example=x.head(2), registered_model_name=_name("purged"))
    for run_id in (gone, registered):
        c.delete_run(run_id)
    with pytest.raises(PermissionDenied, match="'track'"):
        _as(c, _name("viewer"), "viewer", tmp_path).purge_deleted_runs(run_ids=[gone])

    dry = c.purge_deleted_runs(experiment_ids=[exp], dry_run=True)
    assert dry.dry_run and dry.purged == [gone] and c.get_run(gone).info.run_id == gone
    report = c.purge_deleted_runs(experiment_ids=[exp])

    assert report.purged == [gone] and report.rows_removed == dry.rows_removed and report.artifact_bytes > 0
    assert [k.run_id for k in report.kept] == [registered]
    assert report.kept[0].reason.startswith("model version ") and report.kept[0].reason.endswith("registered from it")
    with pytest.raises(NotFound):
        c.get_run(gone)
    assert c.get_run(registered).info.run_id == registered and c.get_run(active).info.run_id == active
    assert [e.object_id for e in c.backend.audit.search(action="run.purged", object_id=gone)] == [gone]
    assert c.backend.audit.verify().ok


# -- datasets ------------------------------------------------------------------------------------


def test_datasets_are_content_addressed_the_same_way(parity_client: Client) -> None:
    c = parity_client
    frame = pd.DataFrame({"x": [1.0, 2.5, np.nan], "city": ["a", "b", "a"], "n": [1, 2, 3]})
    name = _name("train")
    run_id = c.create_run(c.create_experiment(_name("data"))).info.run_id
    version = c.backend.datasets.log(frame, name, role="train", run_id=run_id, user="ignored")
    assert version.digest == canonicalize(frame).digest and version.row_count == 3
    assert c.backend.datasets.log(frame, name, user="ignored").digest == version.digest  # same content, same version
    loaded = c.backend.datasets.load(version.uri[: version.uri.index("@") + 9])
    pd.testing.assert_frame_equal(loaded.reset_index(drop=True), frame)
    assert [i.digest for i in c.backend.datasets.inputs_of_run(run_id)] == [version.digest]
    assert [v.digest for v in c.backend.datasets.list_versions(name)] == [version.digest]
    assert {p.name for p in version.profile.columns} == {"x", "city", "n"}


# -- governance ----------------------------------------------------------------------------------


def test_users_roles_tokens_and_the_audit_trail(parity_client: Client) -> None:
    identity = parity_client.backend.identity
    actor, role = identity.whoami()
    assert actor.name == "admin" and role is not None and role.label == "admin"
    user = _name("bob")
    identity.create_user(user, role="viewer")
    identity.grant(user, "contributor")
    token, secret = identity.create_token(user=user, description="ci")
    assert secret.startswith("myd_") and [t.id for t in identity.list_tokens(user)] == [token.id]
    identity.revoke_token(token.id)
    assert identity.list_tokens(user)[0].revoked_ms is not None
    roles = {u.name: [b.role.label for b in bindings] for u, bindings in identity.list_users()}
    assert roles[user] == ["contributor"]
    events = parity_client.backend.audit.search(object_id=user)
    assert [e.action for e in events][:2] == ["user.created", "role.granted"]
    assert parity_client.backend.audit.verify().ok


def test_a_viewer_cannot_track(parity_client: Client, tmp_path: Path) -> None:
    """Permission checks hold the same way: a viewer may read but not start a run."""
    c = parity_client
    viewer = _name("viewer")
    c.backend.identity.create_user(viewer, role="viewer")
    exp = c.create_experiment(_name("guarded"))
    if c.settings.is_remote:
        _, secret = c.backend.identity.create_token(user=viewer)
        as_viewer = Client(c.settings.model_copy(update={"token": secret, "home": tmp_path}))
    else:
        as_viewer = Client(c.settings.model_copy(update={"user": viewer}))
    assert as_viewer.get_experiment(exp).experiment_id == exp
    with pytest.raises(PermissionDenied, match="'track'"):
        as_viewer.create_run(exp)


def _as(c: Client, user: str, role: str, home: Path) -> Client:
    """A client acting as a new ``user`` holding ``role``: through a token of theirs, or embedded as them."""
    c.backend.identity.create_user(user, role=role)
    if c.settings.is_remote:
        _, secret = c.backend.identity.create_token(user=user)
        return Client(c.settings.model_copy(update={"token": secret, "home": home / user}))
    return Client(c.settings.model_copy(update={"user": user}))


def test_four_eyes_approval_of_a_stage_change(parity_client: Client, tmp_path: Path) -> None:
    """A protected transition becomes an approval request (same exception, same request id), the
    requester cannot approve it, another approver's approval applies it, and the audit trail says who."""
    c = parity_client
    model, _ = _trained()
    name = _name("guarded")
    run_id = c.create_run(c.create_experiment(_name("approvals"))).info.run_id
    c.registry.log_model(run_id, model, "model", registered_model_name=name)
    c.backend.approvals.set_policy(ApprovalPolicy(model_name=name))
    bob = _as(c, _name("bob"), "approver", tmp_path)
    carol = _as(c, _name("carol"), "approver", tmp_path)

    with pytest.raises(ApprovalPending) as pending:
        bob.registry.transition_model_version_stage(name, 1, "Production")
    request_id = pending.value.details["approval_request"]
    assert str(c.registry.get_model_version(name, 1).current_stage) == "None"
    assert [r.id for r in c.backend.approvals.list(model_name=name)] == [request_id]
    with pytest.raises(PermissionDenied, match="four-eyes"):
        bob.backend.approvals.approve(request_id)
    done = carol.backend.approvals.approve(request_id, "checked")
    assert done.status is ApprovalStatus.APPLIED
    assert [d.approver for d in done.decisions] == [carol.backend.identity.whoami()[0].name]
    assert str(c.registry.get_model_version(name, 1).current_stage) == "Production"
    changes = c.backend.audit.search(object_id=f"{name}/1", action="model_version.stage_changed")
    assert [(e.actor, e.details["approval"]) for e in changes] == [(done.decisions[0].approver, request_id)]
