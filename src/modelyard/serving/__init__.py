"""Model serving: the runtime that answers prediction requests for already-loaded models.

A ``ServingPlan`` (deployments -> variants, each a ``Predictor`` with a mode and weight) held by a
``PlanHolder`` is served by ``create_app`` over the Open Inference Protocol, MLflow's
``/invocations`` and a plain records endpoint, with canary/A-B/sticky routing, shadow comparison
off the response path, Prometheus metrics and a never-blocking "request served" hook. Where plans
come from (the store's deployments) is not this package's concern: swap a new plan in to change
traffic on a running server.
"""

from typing import TYPE_CHECKING

from modelyard._lazy import lazy_exports

if TYPE_CHECKING:
    from modelyard.serving.app import create_app as create_app
    from modelyard.serving.http import DEFAULT_MAX_BODY_BYTES as DEFAULT_MAX_BODY_BYTES
    from modelyard.serving.http import InputRejected as InputRejected
    from modelyard.serving.http import RequestTooLarge as RequestTooLarge
    from modelyard.serving.http import UnsupportedMediaType as UnsupportedMediaType
    from modelyard.serving.plan import DeploymentPlan as DeploymentPlan
    from modelyard.serving.plan import Mode as Mode
    from modelyard.serving.plan import PlanHolder as PlanHolder
    from modelyard.serving.plan import ServingPlan as ServingPlan
    from modelyard.serving.plan import StickyKey as StickyKey
    from modelyard.serving.plan import Variant as Variant
    from modelyard.serving.requests_log import NullRequestLogger as NullRequestLogger
    from modelyard.serving.requests_log import QueueRequestLogger as QueueRequestLogger
    from modelyard.serving.requests_log import RequestLogger as RequestLogger
    from modelyard.serving.requests_log import ServedRequest as ServedRequest
    from modelyard.serving.routing import sticky_bucket as sticky_bucket
    from modelyard.serving.runner import RunningServer as RunningServer
    from modelyard.serving.runner import run as run
    from modelyard.serving.runner import serving as serving
    from modelyard.serving.runner import start_in_thread as start_in_thread
    from modelyard.serving.shadow import ShadowRecord as ShadowRecord
    from modelyard.serving.shadow import ShadowRunner as ShadowRunner
    from modelyard.serving.shadow import ShadowStats as ShadowStats

__getattr__ = lazy_exports(__name__, __file__)
del TYPE_CHECKING, lazy_exports  # import plumbing, not part of the package's surface

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "DeploymentPlan",
    "InputRejected",
    "Mode",
    "NullRequestLogger",
    "PlanHolder",
    "QueueRequestLogger",
    "RequestLogger",
    "RequestTooLarge",
    "RunningServer",
    "ServedRequest",
    "ServingPlan",
    "ShadowRecord",
    "ShadowRunner",
    "ShadowStats",
    "StickyKey",
    "UnsupportedMediaType",
    "Variant",
    "create_app",
    "run",
    "serving",
    "start_in_thread",
    "sticky_bucket",
]
