"""The remote backend: the services of ``LocalBackend``, answered by a modelyard server.

With ``MODELYARD_TRACKING_URI=http(s)://…`` and ``MODELYARD_TOKEN``, ``open_backend`` returns a
``RestBackend`` instead of opening the store: the SDK and CLI call the same service methods
(``backend.runs.create``, ``backend.registered_models.search`` …) and get the same records and
the same exceptions, because every method here sends one REST call to the route that calls that
very service method on the server, as the token's user. Commands that need the store itself
(pipelines, ``serve``, monitors) are refused with a clear error in this mode: run them where the
store is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modelyard.config import Settings
from modelyard.errors import InvalidInput
from modelyard.sdk.backends._http import Transport
from modelyard.sdk.backends._remote_data import RemoteDatasets
from modelyard.sdk.backends._remote_governance import RemoteApprovals, RemoteAudit, RemoteIdentity, RemoteLineage
from modelyard.sdk.backends._remote_registry import (
    RemoteAliases,
    RemoteLoggedModels,
    RemoteModelResolver,
    RemoteModelVersions,
    RemoteRegisteredModels,
    RemoteStages,
)
from modelyard.sdk.backends._remote_serving import RemoteDeployments
from modelyard.sdk.backends._remote_tracking import (
    RemoteArtifacts,
    RemoteExperiments,
    RemoteMetrics,
    RemotePurge,
    RemoteRuns,
    RemoteSearch,
)
from modelyard.sdk.spool import ReplayResult, replay, spool_dir


@dataclass(frozen=True)
class RestBackend:
    """``LocalBackend``'s service attributes, each speaking to the server's ``/api/v1``."""

    settings: Settings
    http: Transport
    experiments: RemoteExperiments
    runs: RemoteRuns
    purge: RemotePurge
    metrics: RemoteMetrics
    artifacts: RemoteArtifacts
    search: RemoteSearch
    datasets: RemoteDatasets
    logged_models: RemoteLoggedModels
    registered_models: RemoteRegisteredModels
    model_versions: RemoteModelVersions
    aliases: RemoteAliases
    stages: RemoteStages
    model_resolver: RemoteModelResolver
    approvals: RemoteApprovals
    audit: RemoteAudit
    identity: RemoteIdentity
    lineage: RemoteLineage
    deployments: RemoteDeployments

    @classmethod
    def open(cls, settings: Settings) -> RestBackend:
        if not settings.is_remote or settings.tracking_uri is None:
            raise InvalidInput(f"not a server URL: {settings.tracking_uri!r}")
        http = Transport(settings.tracking_uri, settings.token)
        artifacts = RemoteArtifacts(http)
        return cls(
            settings=settings,
            http=http,
            experiments=RemoteExperiments(http),
            runs=RemoteRuns(http),
            purge=RemotePurge(http),
            metrics=RemoteMetrics(http),
            artifacts=artifacts,
            search=RemoteSearch(http),
            datasets=RemoteDatasets(http),
            logged_models=RemoteLoggedModels(http, artifacts),
            registered_models=RemoteRegisteredModels(http),
            model_versions=RemoteModelVersions(http),
            aliases=RemoteAliases(http),
            stages=RemoteStages(http),
            model_resolver=RemoteModelResolver(http, artifacts, settings.home / "cache" / "models"),
            approvals=RemoteApprovals(http),
            audit=RemoteAudit(http),
            identity=RemoteIdentity(http),
            lineage=RemoteLineage(http),
            deployments=RemoteDeployments(http),
        )

    def replay_spools(self) -> ReplayResult:
        """Send the metrics this machine's killed processes spooled (where the SDK spools in
        either mode) to the server, as the embedded backend stores them."""
        return replay(spool_dir(self.settings.home, self.settings.store_uri), self.metrics.log, self.metrics.history)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        # db, artifact_store, feedback, inference_log: only where the store is.
        raise InvalidInput(
            f"this needs direct access to the store ({name}), which a client of the server at "
            f"{self.settings.tracking_uri} does not have; run it on the server's machine"
        )
