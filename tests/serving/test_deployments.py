"""The deployments service on SQLite and PostgreSQL: pinning, traffic rules, promote, rollback, events, lineage."""

from __future__ import annotations

import pytest

from modelyard.config import Settings
from modelyard.domain.lineage import NodeKind, NodeRef
from modelyard.domain.serving import CanarySLO, EventKind, StickySpec, VariantMode, VariantSpec
from modelyard.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from modelyard.sdk.backends.local import LocalBackend, local_backend
from modelyard.serving.deployments import DeploymentService
from modelyard.store.repos import lineage as lineage_rows
from tests.serving._deployed import classifier, register


@pytest.fixture
def backend(settings: Settings) -> LocalBackend:
    register(settings, "churn", [classifier(0.0), classifier(0.5), classifier(-0.5)], champion=1)
    return local_backend(settings)


@pytest.fixture
def service(backend: LocalBackend) -> DeploymentService:
    return backend.deployments


def canary(uri: str, weight: float) -> VariantSpec:
    return VariantSpec(uri=uri, mode=VariantMode.CANARY, weight=weight)


def test_deploy_pins_the_alias_and_records_event_and_lineage(backend: LocalBackend, service: DeploymentService) -> None:
    made = service.deploy(
        "churn-api",
        [VariantSpec(uri="models:/churn@champion"), canary("models:/churn/2", 10)],
        sticky=StickySpec(source="header", name="x-customer-id"),
    )
    assert [(v.name, v.model_version, v.mode, v.weight) for v in made.variants] == [
        ("primary", "churn/1", VariantMode.PRIMARY, 0.0),
        ("canary", "churn/2", VariantMode.CANARY, 10.0),
    ]
    assert made.revision == 1 and made.traffic() == {"primary": 90.0, "canary": 10.0}

    # Moving the alias afterwards changes nothing served: the version was pinned.
    backend.aliases.set("churn", "champion", 3)
    stored = service.get("churn-api")
    assert stored.primary is not None and stored.primary.version == 1
    assert stored.sticky == StickySpec(source="header", name="x-customer-id")

    [event] = service.history("churn-api")
    assert event.kind is EventKind.DEPLOYED and event.actor == "tester" and event.before is None
    assert event.after is not None and event.after["variants"][1]["version"] == 2
    with backend.db.read() as conn:
        edges = lineage_rows.upstream(conn, [NodeRef(kind=NodeKind.DEPLOYMENT, id="churn-api")])
    assert {(e.source.id, e.relation.value, e.properties["mode"]) for e in edges} == {
        ("churn/1", "deployed", "primary"),
        ("churn/2", "deployed", "canary"),
    }


def test_set_traffic_promote_and_rollback(backend: LocalBackend, service: DeploymentService) -> None:
    backend.identity.create_user("alice", role="contributor")  # a name nobody created is a viewer
    service.deploy("d", [VariantSpec(uri="models:/churn/1"), canary("models:/churn/2", 10)])
    after = service.set_traffic("d", {"canary": 40}, actor="alice")
    assert after.revision == 2 and after.traffic() == {"primary": 60.0, "canary": 40.0}

    promoted = service.promote("d")
    assert [(v.name, v.model_version, v.mode) for v in promoted.variants] == [
        ("primary", "churn/2", VariantMode.PRIMARY)
    ]
    assert promoted.previous_primary is not None and promoted.previous_primary.model_version == "churn/1"

    rolled = service.rollback("d")
    assert [(v.name, v.model_version) for v in rolled.variants] == [("primary", "churn/1")]
    with pytest.raises(Conflict, match="no canary and no previous primary"):
        service.rollback("d")

    kinds = [(e.kind, e.actor, e.revision) for e in service.history("d")]
    assert kinds == [
        (EventKind.DEPLOYED, "tester", 1),
        (EventKind.TRAFFIC, "alice", 2),
        (EventKind.PROMOTED, "tester", 3),
        (EventKind.ROLLED_BACK, "tester", 4),
    ]
    traffic_event = service.history("d")[1]
    assert traffic_event.before is not None and traffic_event.after is not None
    assert traffic_event.before["variants"][1]["weight"] == 10.0
    assert traffic_event.after["variants"][1]["weight"] == 40.0


def test_rollback_with_a_running_canary_drops_it_in_one_step(service: DeploymentService) -> None:
    service.deploy(
        "d",
        [
            VariantSpec(uri="models:/churn/1"),
            canary("models:/churn/2", 10),
            VariantSpec(uri="models:/churn/3", mode=VariantMode.SHADOW),
        ],
    )
    rolled = service.rollback("d")
    assert [(v.name, v.mode) for v in rolled.variants] == [
        ("primary", VariantMode.PRIMARY),
        ("shadow", VariantMode.SHADOW),
    ]
    assert rolled.traffic() == {"primary": 100.0}


def test_redeploy_replaces_variants_and_remembers_the_old_primary(service: DeploymentService) -> None:
    service.deploy("d", [VariantSpec(uri="models:/churn/1")])
    replaced = service.deploy("d", [VariantSpec(uri="models:/churn/3")])
    assert replaced.revision == 2 and replaced.primary is not None and replaced.primary.version == 3
    assert service.rollback("d").primary.version == 1  # type: ignore[union-attr]


def test_ab_split_rules(service: DeploymentService) -> None:
    ab = service.deploy(
        "ab",
        [
            VariantSpec(uri="models:/churn/1", mode=VariantMode.AB, weight=70),
            VariantSpec(uri="models:/churn/2", mode=VariantMode.AB, weight=30),
        ],
    )
    assert ab.traffic() == {"a": 70.0, "b": 30.0}
    with pytest.raises(InvalidInput, match="sum to 100"):
        service.set_traffic("ab", {"a": 50})
    assert service.set_traffic("ab", {"a": 50, "b": 50}).traffic() == {"a": 50.0, "b": 50.0}
    with pytest.raises(Conflict, match="A/B split"):
        service.rollback("ab")
    with pytest.raises(InvalidInput, match="cannot also have a primary"):
        service.deploy(
            "mixed",
            [VariantSpec(uri="models:/churn/1"), VariantSpec(uri="models:/churn/2", mode=VariantMode.AB, weight=100)],
        )


@pytest.mark.parametrize(
    ("variants", "error", "message"),
    [
        ([VariantSpec(uri="models:/churn/9")], NotFound, "has no version 9"),
        ([VariantSpec(uri="models:/nope/1")], NotFound, "no registered model named 'nope'"),
        ([VariantSpec(uri="models:/churn@gone")], NotFound, "has no alias 'gone'"),
        ([VariantSpec(uri="runs:/0123456789abcdef0123456789abcdef/m")], InvalidInput, "registered model version"),
        ([canary("models:/churn/2", 10)], InvalidInput, "exactly one primary"),
        (
            [VariantSpec(uri="models:/churn/1"), VariantSpec(uri="models:/churn/2")],
            InvalidInput,
            "exactly one primary",
        ),
        ([VariantSpec(uri="models:/churn/1"), canary("models:/churn/2", 101)], InvalidInput, "within 0-100"),
        ([VariantSpec(uri="models:/churn/1"), canary("models:/churn/2", -1)], InvalidInput, "within 0-100"),
        (
            [VariantSpec(uri="models:/churn/1"), canary("models:/churn/2", 60), canary("models:/churn/3", 50)],
            InvalidInput,
            "sum to 110",
        ),
        ([], InvalidInput, "at least one variant"),
    ],
)
def test_bad_deployments_are_refused_and_nothing_is_stored(
    service: DeploymentService, variants: list[VariantSpec], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        service.deploy("bad", variants)
    with pytest.raises(NotFound):
        service.get("bad")
    assert service.revisions() == {}


def test_traffic_changes_are_checked(service: DeploymentService) -> None:
    service.deploy("d", [VariantSpec(uri="models:/churn/1"), canary("models:/churn/2", 10)])
    with pytest.raises(InvalidInput, match="only canary and A/B weights"):
        service.set_traffic("d", {"primary": 50})
    with pytest.raises(InvalidInput, match="has no variant nope"):
        service.set_traffic("d", {"nope": 5})
    with pytest.raises(InvalidInput, match="within 0-100"):
        service.set_traffic("d", {"canary": float("nan")})
    with pytest.raises(Conflict, match="changed meanwhile"):
        service.set_traffic("d", {"canary": 20}, expected_revision=7)
    assert service.get("d").revision == 1
    with pytest.raises(InvalidInput, match=r"deployment name .* is not allowed"):
        service.deploy("bad name!", [VariantSpec(uri="models:/churn/1")])
    service.deploy("solo", [VariantSpec(uri="models:/churn/1")])
    with pytest.raises(Conflict, match="no canary to promote"):
        service.promote("solo")


def test_undeploy_keeps_history_and_revisions_track_changes(service: DeploymentService) -> None:
    service.deploy("a", [VariantSpec(uri="models:/churn/1")], slo=CanarySLO(max_error_rate=0.1, min_requests=5))
    service.deploy("b", [VariantSpec(uri="models:/churn/2")])
    assert service.revisions() == {"a": 1, "b": 1}
    assert service.get("a").slo == CanarySLO(max_error_rate=0.1, min_requests=5)
    service.undeploy("a")
    assert service.revisions() == {"b": 1}
    assert [e.kind for e in service.history("a")] == [EventKind.DEPLOYED, EventKind.UNDEPLOYED]
    assert service.history("a")[-1].after is None
    with pytest.raises(NotFound):
        service.undeploy("a")
    with pytest.raises(NotFound, match="never deployed"):
        service.history("zzz")
    with pytest.raises(NotFound, match="'zzz'"):
        service.list(["b", "zzz"])


def test_deploying_needs_the_deploy_permission_and_is_audited(backend: LocalBackend) -> None:
    backend.identity.create_user("val", role="viewer")
    as_viewer = DeploymentService(backend.db, actor="val")

    with pytest.raises(PermissionDenied, match="deploy"):
        as_viewer.deploy("churn-api", [VariantSpec(uri="models:/churn@champion")])
    backend.deployments.deploy("churn-api", [VariantSpec(uri="models:/churn@champion"), canary("models:/churn/2", 10)])
    backend.deployments.set_traffic("churn-api", {"canary": 20})
    with pytest.raises(PermissionDenied):
        as_viewer.rollback("churn-api")

    events = backend.audit.search(object_kind="deployment", object_id="churn-api")
    assert [e.action for e in events] == ["deployment.deployed", "deployment.traffic"]
    assert {e.actor for e in events} == {backend.settings.user}
    denials = backend.audit.search(action="permission.denied", actor="val")
    assert len(denials) == 2
    assert backend.audit.verify().ok
