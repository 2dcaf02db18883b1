"""The embedded backend: the services, in this process, over the store the settings name.

One backend per distinct settings per process, so the fluent API and every ``Client`` share one
connection pool. Opening it creates a brand-new store's schema (unless told not to: read-only commands refuse a
missing store) and ends as KILLED the runs whose processes died (their heartbeat is older than
the timeout), after storing the metrics those processes had spooled but not stored
(``modelyard.sdk.spool``).
"""

from __future__ import annotations

import functools
import logging
import threading
from typing import TYPE_CHECKING

from modelyard.config import Settings
from modelyard.domain.governance import ApprovalKind
from modelyard.domain.lineage import NodeKind, NodeRef
from modelyard.governance import (
    ActorProvider,
    ApprovalService,
    AuditAnchor,
    AuditService,
    IdentityService,
    LineageService,
    grant_only,
)
from modelyard.sdk.spool import ReplayResult, replay, spool_dir
from modelyard.store.artifacts import ArtifactStore
from modelyard.store.db import Database
from modelyard.store.migration import ensure_schema
from modelyard.tracking import ArtifactService, ExperimentService, MetricService, RunSearchService, RunService

if TYPE_CHECKING:
    from modelyard.data import DatasetService
    from modelyard.registry import (
        AliasService,
        LoggedModelService,
        ModelResolver,
        ModelUploadService,
        ModelVersionService,
        RegisteredModelService,
        StageService,
    )
    from modelyard.serving.deployments import DeploymentService
    from modelyard.serving.feedback import FeedbackService
    from modelyard.serving.inference_reader import InferenceLogReader
    from modelyard.tracking import MetricRetentionService, RunPurgeService

_log = logging.getLogger(__name__)


class LocalBackend:
    """The services wired to one store, each built on first use.

    Tracking and governance are built with the backend; the registry, datasets and serving are
    imported and built when first asked for (they pull in pandas, pyarrow and Starlette), so a
    ``modelyard runs list`` pays for none of them.
    """

    def __init__(
        self,
        settings: Settings,
        db: Database,
        artifact_store: ArtifactStore,
        *,
        created: bool,
        actor: ActorProvider | None = None,
        anchor: AuditAnchor | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.artifact_store = artifact_store
        self.created = created
        # Who acts: ``settings.user`` embedded; the server passes a provider that reads the
        # current request's authenticated user, so one backend serves every request.
        self.actor: ActorProvider | str = actor or settings.user
        self.experiments = ExperimentService(db, artifact_store, actor=self.actor)
        self.runs = RunService(db, artifact_store, actor=self.actor)
        self.metrics = MetricService(db, actor=self.actor)
        self.artifacts = ArtifactService(db, artifact_store, actor=self.actor)
        self.search = RunSearchService(db)
        self.audit = AuditService(db, actor=self.actor, anchor=anchor)
        self.identity = IdentityService(db, actor=self.actor)

    @classmethod
    def open(cls, settings: Settings, actor: ActorProvider | None = None, *, create: bool = True) -> LocalBackend:
        """The backend over ``settings``' store, acting as ``actor`` (default ``settings.user``);
        ``create=False`` raises ``NotFound`` when there is no store."""
        db = Database(settings.store_uri, create=create)
        created = ensure_schema(db, create=create)
        if created:
            _log.info("created a new modelyard store at %s", db.safe_url)
        store = ArtifactStore(settings.artifact_uri, **settings.artifact_storage_options())
        anchor = AuditAnchor(store, settings.audit_key)
        anchor.attach(db)  # before anything below appends (runs.gc may)
        backend = cls(settings, db, store, created=created, actor=actor, anchor=anchor)
        backend.replay_spools()
        backend.runs.gc(settings.heartbeat_timeout_s)
        return backend

    def replay_spools(self) -> ReplayResult:
        """Store the metrics that processes killed before storing them left in their spools."""
        return replay(spool_dir(self.settings.home, self.settings.store_uri), self.metrics.log, self.metrics.history)

    @functools.cached_property
    def retention(self) -> MetricRetentionService:
        from modelyard.tracking import MetricRetentionService

        return MetricRetentionService(self.db, actor=self.actor)

    @functools.cached_property
    def purge(self) -> RunPurgeService:
        from modelyard.tracking import RunPurgeService

        return RunPurgeService(self.db, self.artifact_store, actor=self.actor)

    @functools.cached_property
    def datasets(self) -> DatasetService:
        from modelyard.data import DatasetService

        return DatasetService(self.db, self.artifact_store, actor=self.actor)

    @functools.cached_property
    def lineage(self) -> LineageService:
        return _lineage(self.db, self.datasets)

    @functools.cached_property
    def logged_models(self) -> LoggedModelService:
        from modelyard.registry import LoggedModelService

        return LoggedModelService(self.db, self.artifact_store, actor=self.actor)

    @functools.cached_property
    def model_uploads(self) -> ModelUploadService:
        from modelyard.registry import ModelUploadService

        return ModelUploadService(self.db, self.artifact_store, actor=self.actor)

    @functools.cached_property
    def registered_models(self) -> RegisteredModelService:
        from modelyard.registry import RegisteredModelService

        return RegisteredModelService(self.db, actor=self.actor)

    @functools.cached_property
    def model_versions(self) -> ModelVersionService:
        from modelyard.registry import ModelVersionService

        return ModelVersionService(self.db, actor=self.actor)

    @functools.cached_property
    def aliases(self) -> AliasService:
        from modelyard.registry import AliasService

        return AliasService(self.db, actor=self.actor)

    @functools.cached_property
    def stages(self) -> StageService:
        from modelyard.registry import StageService

        return StageService(self.db, actor=self.actor)

    @functools.cached_property
    def model_resolver(self) -> ModelResolver:
        from modelyard.registry import ModelResolver

        return ModelResolver(self.db, self.artifact_store, self.settings.home / "cache" / "models")

    @functools.cached_property
    def deployments(self) -> DeploymentService:
        from modelyard.serving.deployments import DeploymentService

        return DeploymentService(self.db, actor=self.actor)

    @functools.cached_property
    def feedback(self) -> FeedbackService:
        from modelyard.serving.feedback import FeedbackService

        return FeedbackService(self.db)

    @functools.cached_property
    def inference_log(self) -> InferenceLogReader:
        from modelyard.serving.inference_reader import InferenceLogReader

        return InferenceLogReader(self.db, self.artifact_store)

    @functools.cached_property
    def approvals(self) -> ApprovalService:
        # Governance sits below the registry, so the registry's appliers are handed in here.
        return ApprovalService(
            self.db,
            actor=self.actor,
            appliers={
                ApprovalKind.STAGE_TRANSITION: self.stages.apply_stage_request,
                ApprovalKind.PROTECTED_ALIAS: self.aliases.apply_alias_request,
                ApprovalKind.DEPLOYMENT_PROMOTE: grant_only,
            },
        )


def _lineage(db: Database, datasets: DatasetService) -> LineageService:
    """The lineage service, taught each context's node kinds and URIs."""
    from modelyard.data.lineage_nodes import describe_dataset_version
    from modelyard.features import describe_feature_source, describe_feature_view
    from modelyard.registry.lineage_nodes import describe_logged_model, describe_model_version, model_version_node
    from modelyard.serving.lineage_nodes import describe_deployment

    lineage = LineageService(db)
    lineage.register_kind(
        NodeKind.MODEL_VERSION,
        describe_model_version,
        uri_prefix="models:/",
        resolve=functools.partial(model_version_node, db),
    )
    lineage.register_kind(NodeKind.LOGGED_MODEL, describe_logged_model)
    lineage.register_kind(NodeKind.DEPLOYMENT, describe_deployment)
    lineage.register_kind(NodeKind.FEATURE_VIEW, describe_feature_view)
    lineage.register_kind(NodeKind.FEATURE_SOURCE, describe_feature_source)
    lineage.register_kind(
        NodeKind.DATASET_VERSION,
        describe_dataset_version,
        uri_prefix="datasets:/",
        resolve=lambda uri: NodeRef(kind=NodeKind.DATASET_VERSION, id=datasets.resolve(uri).node_id),
    )
    return lineage


_backends: dict[Settings, LocalBackend] = {}
_lock = threading.Lock()


def local_backend(settings: Settings, *, create: bool = True) -> LocalBackend:
    """The process's backend for ``settings``, opened on first use (see ``LocalBackend.open``)."""
    with _lock:
        backend = _backends.get(settings)
        if backend is None:
            backend = _backends[settings] = LocalBackend.open(settings, create=create)
        return backend
