"""The embedded backend: the services, in this process, over the store the settings name.

One backend per distinct settings per process, so the fluent API and every ``Client`` share one
connection pool. Opening it creates a brand-new store's schema and ends as KILLED the runs whose
processes died (their heartbeat is older than the timeout).
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass

from modelyard.config import Settings
from modelyard.data import DatasetService
from modelyard.data.lineage_nodes import describe_dataset_version
from modelyard.domain.governance import ApprovalKind
from modelyard.domain.lineage import NodeKind, NodeRef
from modelyard.governance import (
    ApprovalService,
    AuditAnchor,
    AuditService,
    IdentityService,
    LineageService,
    grant_only,
)
from modelyard.registry import (
    AliasService,
    LoggedModelService,
    ModelResolver,
    ModelVersionService,
    RegisteredModelService,
    StageService,
)
from modelyard.registry.lineage_nodes import describe_logged_model, describe_model_version, model_version_node
from modelyard.serving.deployments import DeploymentService
from modelyard.serving.feedback import FeedbackService
from modelyard.serving.inference_reader import InferenceLogReader
from modelyard.serving.lineage_nodes import describe_deployment
from modelyard.store.artifacts import ArtifactStore
from modelyard.store.db import Database
from modelyard.store.migration import ensure_schema
from modelyard.tracking import ArtifactService, ExperimentService, MetricService, RunSearchService, RunService


@dataclass(frozen=True)
class LocalBackend:
    """The tracking services wired to one store."""

    settings: Settings
    db: Database
    artifact_store: ArtifactStore
    experiments: ExperimentService
    runs: RunService
    metrics: MetricService
    artifacts: ArtifactService
    search: RunSearchService
    datasets: DatasetService
    lineage: LineageService
    logged_models: LoggedModelService
    registered_models: RegisteredModelService
    model_versions: ModelVersionService
    aliases: AliasService
    stages: StageService
    model_resolver: ModelResolver
    deployments: DeploymentService
    approvals: ApprovalService
    audit: AuditService
    identity: IdentityService
    feedback: FeedbackService
    inference_log: InferenceLogReader

    @classmethod
    def open(cls, settings: Settings) -> LocalBackend:
        db = Database(settings.store_uri)
        ensure_schema(db)
        store = ArtifactStore(settings.artifact_uri, **settings.artifact_storage_options())
        anchor = AuditAnchor(store, settings.audit_key)
        anchor.attach(db)  # before anything below appends (runs.gc may)
        datasets = DatasetService(db, store, actor=settings.user)
        stages = StageService(db, actor=settings.user)
        aliases = AliasService(db, actor=settings.user)
        backend = cls(
            settings=settings,
            db=db,
            artifact_store=store,
            experiments=ExperimentService(db, store, actor=settings.user),
            runs=RunService(db, store, actor=settings.user),
            metrics=MetricService(db, actor=settings.user),
            artifacts=ArtifactService(db, store),
            search=RunSearchService(db),
            logged_models=LoggedModelService(db, store, actor=settings.user),
            registered_models=RegisteredModelService(db, actor=settings.user),
            model_versions=ModelVersionService(db, actor=settings.user),
            aliases=aliases,
            stages=stages,
            model_resolver=ModelResolver(db, store, settings.home / "cache" / "models"),
            deployments=DeploymentService(db, actor=settings.user),
            feedback=FeedbackService(db),
            inference_log=InferenceLogReader(db, store),
            datasets=datasets,
            lineage=_lineage(db, datasets),
            # Governance sits below the registry, so the registry's appliers are handed in here.
            approvals=ApprovalService(
                db,
                actor=settings.user,
                appliers={
                    ApprovalKind.STAGE_TRANSITION: stages.apply_stage_request,
                    ApprovalKind.PROTECTED_ALIAS: aliases.apply_alias_request,
                    ApprovalKind.DEPLOYMENT_PROMOTE: grant_only,
                },
            ),
            audit=AuditService(db, actor=settings.user, anchor=anchor),
            identity=IdentityService(db, actor=settings.user),
        )
        backend.runs.gc(settings.heartbeat_timeout_s)
        return backend


def _lineage(db: Database, datasets: DatasetService) -> LineageService:
    """The lineage service, taught each context's node kinds and URIs."""
    lineage = LineageService(db)
    lineage.register_kind(
        NodeKind.MODEL_VERSION,
        describe_model_version,
        uri_prefix="models:/",
        resolve=functools.partial(model_version_node, db),
    )
    lineage.register_kind(NodeKind.LOGGED_MODEL, describe_logged_model)
    lineage.register_kind(NodeKind.DEPLOYMENT, describe_deployment)
    lineage.register_kind(
        NodeKind.DATASET_VERSION,
        describe_dataset_version,
        uri_prefix="datasets:/",
        resolve=lambda uri: NodeRef(kind=NodeKind.DATASET_VERSION, id=datasets.resolve(uri).node_id),
    )
    return lineage


_backends: dict[Settings, LocalBackend] = {}
_lock = threading.Lock()


def local_backend(settings: Settings) -> LocalBackend:
    """The process's backend for ``settings``, opened on first use."""
    with _lock:
        backend = _backends.get(settings)
        if backend is None:
            backend = _backends[settings] = LocalBackend.open(settings)
        return backend
