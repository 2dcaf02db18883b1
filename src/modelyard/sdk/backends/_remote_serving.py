"""Deployments over the REST API (``DeploymentService``'s reading and traffic methods): the
server's deployment service checks the ``deploy`` permission as the token's user."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence

from modelyard.domain.serving import Deployment, DeploymentEvent, VariantSpec
from modelyard.errors import InvalidInput
from modelyard.sdk.backends._http import Transport
from modelyard.sdk.backends._remote_tracking import q


class RemoteDeployments:
    def __init__(self, http: Transport) -> None:
        self._http = http

    def get(self, name: str) -> Deployment:
        return self._http.get(f"/deployments/{q(name)}", Deployment)

    def list(self, names: Sequence[str] | None = None) -> builtins.list[Deployment]:
        if names:
            return [self.get(n) for n in names]
        return self._http.pages("/deployments", Deployment)

    def history(self, name: str, *, limit: int | None = None) -> builtins.list[DeploymentEvent]:
        found = self._http.pages(f"/deployments/{q(name)}/history", DeploymentEvent)
        return found if limit is None else found[-limit:]

    def deploy(self, name: str, variants: Sequence[VariantSpec], **options: object) -> Deployment:
        if any(v is not None for v in options.values()):
            raise InvalidInput(
                "sticky routing, SLOs, batching and the explain sample are set on the server's machine, not through it"
            )
        body = {"variants": [{"uri": v.uri, "mode": v.mode.value, "weight": v.weight, "sample": v.sample,
                              "name": v.name} for v in variants]}  # fmt: skip
        return self._http.send("PUT", f"/deployments/{q(name)}", Deployment, body)

    def set_explain_sample(self, name: str, rate: float, **options: object) -> Deployment:
        raise InvalidInput("the explain sample is set on the server's machine (modelyard deployments explain-sample)")

    def set_traffic(
        self, name: str, weights: Mapping[str, float], *, expected_revision: int | None = None
    ) -> Deployment:
        body = {"weights": dict(weights), "expected_revision": expected_revision}
        return self._http.send("PUT", f"/deployments/{q(name)}/traffic", Deployment, body)

    def promote(self, name: str, variant: str | None = None, *, expected_revision: int | None = None) -> Deployment:
        body = {"variant": variant, "expected_revision": expected_revision}
        return self._http.send("POST", f"/deployments/{q(name)}/promote", Deployment, body)

    def rollback(self, name: str, *, expected_revision: int | None = None) -> Deployment:
        body = {"expected_revision": expected_revision}
        return self._http.send("POST", f"/deployments/{q(name)}/rollback", Deployment, body)

    def undeploy(self, name: str) -> None:
        self._http.act("DELETE", f"/deployments/{q(name)}")
