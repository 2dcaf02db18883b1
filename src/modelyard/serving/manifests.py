"""Packaging a deployment for Kubernetes: a Dockerfile, Deployment + Service, or a KServe InferenceService.

Every artifact runs the same thing: the image installs modelyard and the deployed models'
requirements, and its command is ``modelyard serve <deployment>``, which reads the deployment and
its models from the store named by ``MODELYARD_STORE_URI`` / ``MODELYARD_ARTIFACT_URI``. Those
(and any credentials) come from a Secret (``--secret``, default ``modelyard-store``) through
``envFrom``, so no manifest carries a password.

- ``k8s``: an ``apps/v1`` Deployment with liveness (``/v2/health/live``), readiness
  (``/v2/health/ready``) and startup probes (models load before the port opens, so a slow load is
  a slow start, not a dead pod), and a ClusterIP Service on port 80. Traffic between variants is
  split inside the server, as on a laptop, and traffic changes reach running pods without a
  rollout.
- ``kserve``: a ``serving.kserve.io/v1beta1`` InferenceService with the same container as its
  predictor (KServe's custom-container form, port 8080). Here KServe splits the traffic, between
  its latest revision (``canaryTrafficPercent``) and the previous one, so each revision's server
  serves one variant (``serve --variant``, see ``serving.pinned``) instead of splitting again: a
  deployment with a 20 % canary exports the canary with ``canaryTrafficPercent: 20``, applied over
  the revision exported while the primary served alone (no ``canaryTrafficPercent``: the latest
  revision takes all traffic). A traffic change is a new export; promotions and rollbacks reach
  running revisions at once. KServe splits two ways only, so several canaries or an A/B split are
  refused: export ``k8s`` for those. The container declares the Open Inference Protocol (``PROTOCOL:
  v2``, which KServe reads from a custom container's environment; ``protocolVersion`` is a field of
  its built-in runtimes only), so KServe's routing and clients use the ``/v2`` paths.
- ``dockerfile``: a build context: the ``Dockerfile``, ``requirements.txt`` and ``wheels/``, a wheel
  of the modelyard running the export (``serving.bundle``: no package index holds modelyard). The
  requirements install that wheel with every other distribution, modelyard's and the models', pinned
  to the version installed here, on the Python version running here. ``HEALTHCHECK`` polls
  readiness, the image runs as a non-root user, and ``--base-image`` replaces
  ``python:<version>-slim`` (pin it by digest, ``image@sha256:...``, for reproducible builds).

Pods meet the *restricted* Pod Security Standard: non-root (uid 10001, the image's user), no
privilege escalation, every capability dropped, the runtime's default seccomp profile and a
read-only root filesystem (the model cache and ``/tmp`` are ``emptyDir`` volumes). Containers
request 500m CPU / 512 MiB and are limited to 2 CPUs / 2 GiB by default (``ExportOptions``,
``--cpu-request`` and friends).

Names are made valid DNS-1123 labels (lowercase, ``-``), since deployment names allow more.
"""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from modelyard.domain.serving import Deployment, DeploymentVariant, VariantMode
from modelyard.errors import InvalidInput
from modelyard.serving.bundle import modelyard_wheel, pinned_requirements, wheel_requirements

_IMAGE = re.compile(r"^[a-z0-9][a-z0-9._/:-]*(?::[\w][\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$")
RUN_AS_USER = 10001
_PROBE = "import urllib.request; urllib.request.urlopen('{url}', timeout=4)"  # slim images have no curl
HOME = "/home/modelyard/.modelyard"
ExportFormat = Literal["k8s", "kserve", "dockerfile"]
FORMATS: tuple[ExportFormat, ...] = ("k8s", "kserve", "dockerfile")
CONTAINER_PORT = 8080
WHEELS = "wheels"
_QUANTITY = re.compile(r"^[0-9]+(?:\.[0-9]+)?(?:m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
LIVE_PATH = "/v2/health/live"
READY_PATH = "/v2/health/ready"


@dataclass(frozen=True, kw_only=True)
class ExportOptions:
    """Knobs of the generated files: the image to run, replicas, namespace, the store's Secret."""

    image: str
    replicas: int = 1
    namespace: str | None = None
    secret: str = "modelyard-store"
    python_version: str = f"{sys.version_info.major}.{sys.version_info.minor}"
    """The image's Python: the one running here by default, which the pinned versions were installed on."""
    extras: tuple[str, ...] = ("postgres", "s3")
    """modelyard's extras the image installs: the stores it can reach."""
    base_image: str | None = None
    """The Dockerfile's ``FROM`` (default ``python:<python_version>-slim``); pin it by digest."""
    cpu_request: str = "500m"
    memory_request: str = "512Mi"
    cpu_limit: str = "2"
    memory_limit: str = "2Gi"

    def __post_init__(self) -> None:
        if not self.image.strip():
            raise InvalidInput("an export needs an image name (--image)")
        if self.replicas < 1:
            raise InvalidInput(f"--replicas must be at least 1, got {self.replicas}")
        if self.namespace is not None:
            k8s_name(self.namespace)  # refuse early rather than write an invalid manifest
        if self.base_image is not None and not _IMAGE.match(self.base_image):
            raise InvalidInput(
                f"--base-image {self.base_image!r} is not an image reference (name[:tag][@sha256:<64 hex digits>])"
            )
        for option, value in (
            ("--cpu-request", self.cpu_request),
            ("--memory-request", self.memory_request),
            ("--cpu-limit", self.cpu_limit),
            ("--memory-limit", self.memory_limit),
        ):
            if not _QUANTITY.match(value):
                raise InvalidInput(f"{option} {value!r} is not a Kubernetes quantity (e.g. 500m, 2, 512Mi, 2Gi)")


def k8s_name(name: str) -> str:
    """``name`` as a DNS-1123 label: lowercase letters, digits and ``-``, at most 63 characters."""
    label = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:63].rstrip("-")
    if not label:
        raise InvalidInput(f"{name!r} has no letters or digits to make a Kubernetes name from")
    return label


def _labels(deployment: Deployment) -> dict[str, str]:
    return {"app.kubernetes.io/name": "modelyard", "app.kubernetes.io/instance": k8s_name(deployment.name)}


def _annotations(deployment: Deployment) -> dict[str, str]:
    variants = ", ".join(f"{v.name}={v.model_version} ({v.mode.value})" for v in deployment.variants)
    return {
        "modelyard.io/deployment": deployment.name,
        "modelyard.io/revision": str(deployment.revision),
        "modelyard.io/variants": variants,
    }


def _metadata(deployment: Deployment, options: ExportOptions) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": k8s_name(deployment.name),
        "labels": _labels(deployment),
        "annotations": _annotations(deployment),
    }
    if options.namespace is not None:
        meta["namespace"] = k8s_name(options.namespace)
    return meta


def container(
    deployment: Deployment,
    options: ExportOptions,
    *,
    name: str = "modelyard",
    variant: str | None = None,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The serving container: ``modelyard serve`` (of ``variant`` only, if given) with the store
    from the Secret, and its probes; ``env`` adds variables."""

    def probe(path: str, **timing: int) -> dict[str, Any]:
        return {"httpGet": {"path": path, "port": CONTAINER_PORT}, "timeoutSeconds": 2, **timing}

    args = ["serve", deployment.name, "--host", "0.0.0.0", "--port", str(CONTAINER_PORT)]
    if variant is not None:
        args += ["--variant", variant]
    return {
        "name": name,
        "image": options.image,
        "args": args,
        "ports": [{"name": "http", "containerPort": CONTAINER_PORT, "protocol": "TCP"}],
        "envFrom": [{"secretRef": {"name": options.secret}}],
        "startupProbe": probe(LIVE_PATH, periodSeconds=5, failureThreshold=60),
        "livenessProbe": probe(LIVE_PATH, periodSeconds=10, failureThreshold=3),
        "readinessProbe": probe(READY_PATH, periodSeconds=5, failureThreshold=2),
        "resources": {
            "requests": {"cpu": options.cpu_request, "memory": options.memory_request},
            "limits": {"cpu": options.cpu_limit, "memory": options.memory_limit},
        },
        "env": [{"name": k, "value": v} for k, v in {"MODELYARD_HOME": HOME, **(env or {})}.items()],
        "volumeMounts": [{"name": "modelyard-home", "mountPath": HOME}, {"name": "tmp", "mountPath": "/tmp"}],
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS_USER,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }


def pod_spec(containers: list[dict[str, Any]]) -> dict[str, Any]:
    """The pod around ``containers``: restricted security context and the writable volumes they mount."""
    return {
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS_USER,
            "fsGroup": RUN_AS_USER,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": containers,
        "volumes": [{"name": "modelyard-home", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}}],
    }


def k8s_manifests(deployment: Deployment, options: ExportOptions) -> list[dict[str, Any]]:
    """A Deployment and a Service serving ``deployment``."""
    labels = _labels(deployment)
    workload = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(deployment, options),
        "spec": {
            "replicas": options.replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": pod_spec([container(deployment, options)]),
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(deployment, options),
        "spec": {
            "type": "ClusterIP",
            "selector": labels,
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        },
    }
    return [workload, service]


def kserve_manifest(deployment: Deployment, options: ExportOptions) -> dict[str, Any]:
    """A KServe InferenceService whose predictor serves the canary (at ``canaryTrafficPercent``) or,
    without one, the primary; KServe sends the rest to the revision applied before."""
    canary, percent = _kserve_split(deployment)
    served = canary or deployment.primary
    if served is None:
        raise InvalidInput(f"deployment {deployment.name!r} has no primary to export to KServe")
    predictor: dict[str, Any] = {
        "minReplicas": options.replicas,
        **pod_spec(
            [container(deployment, options, name="kserve-container", variant=served.name, env={"PROTOCOL": "v2"})]
        ),
    }
    if percent is not None:
        predictor["canaryTrafficPercent"] = percent
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": _metadata(deployment, options),
        "spec": {"predictor": predictor},
    }


def _kserve_split(deployment: Deployment) -> tuple[DeploymentVariant | None, int | None]:
    """The canary KServe's latest revision serves and its whole-number share, or ``(None, None)``."""
    if any(v.mode is VariantMode.AB for v in deployment.variants):
        raise InvalidInput(
            f"deployment {deployment.name!r} is an A/B split; KServe splits between two revisions only: "
            "export --format k8s, where the server splits"
        )
    canaries = deployment.canaries
    if not canaries:
        return None, None
    if len(canaries) > 1:
        raise InvalidInput(
            f"deployment {deployment.name!r} has {len(canaries)} canaries; KServe splits between two "
            "revisions only: export --format k8s, where the server splits"
        )
    [canary] = canaries
    if canary.weight != int(canary.weight):
        raise InvalidInput(
            f"canary {canary.name!r} takes {canary.weight:g} % of traffic; KServe's canaryTrafficPercent "
            "is a whole number: set-traffic to one first"
        )
    return canary, int(canary.weight)


def requirements_txt(options: ExportOptions, wheel: Path, model_requirements: Sequence[str]) -> str:
    """modelyard from ``wheel`` (in ``wheels/`` beside the file) and everything else pinned."""
    _, requires = wheel_requirements(wheel)
    extras = f"[{','.join(options.extras)}]" if options.extras else ""
    lines = [
        "# modelyard from the wheel beside this file (no package index holds it); every other distribution",
        f"# pinned to the version the export ran with (Python {sys.version.split()[0]}, {sys.platform}).",
        f"./{WHEELS}/{wheel.name}{extras}",
        *pinned_requirements(requires, options.extras, model_requirements),
    ]
    return "\n".join(lines) + "\n"


def dockerfile(deployment: Deployment, options: ExportOptions) -> str:
    """A Dockerfile for an image that serves ``deployment`` (``requirements.txt`` and ``wheels/`` beside it)."""
    return f"""\
# Serves the modelyard deployment {deployment.name!r} (revision {deployment.revision}).
# The store comes from the environment: MODELYARD_STORE_URI, MODELYARD_ARTIFACT_URI (and credentials).
FROM {options.base_image or f"python:{options.python_version}-slim"}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY requirements.txt ./
COPY {WHEELS}/ ./{WHEELS}/
RUN pip install -r requirements.txt \\
    && useradd --create-home --uid {RUN_AS_USER} modelyard
USER {RUN_AS_USER}
ENV MODELYARD_HOME={HOME}
EXPOSE {CONTAINER_PORT}
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \\
    CMD ["python", "-c", "{_PROBE.format(url=f"http://127.0.0.1:{CONTAINER_PORT}{READY_PATH}")}"]
ENTRYPOINT ["modelyard"]
CMD ["serve", "{deployment.name}", "--host", "0.0.0.0", "--port", "{CONTAINER_PORT}"]
"""


def write_export(
    deployment: Deployment,
    fmt: str,
    out_dir: str | Path,
    options: ExportOptions,
    model_requirements: Sequence[str] = (),
) -> list[Path]:
    """Write the files of ``fmt`` for ``deployment`` into ``out_dir``; returns their paths."""
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    name = k8s_name(deployment.name)
    written = []
    if fmt == "dockerfile":
        wheel = modelyard_wheel()
        (folder / WHEELS).mkdir(exist_ok=True)
        for stale in (folder / WHEELS).glob("modelyard-*.whl"):  # an earlier export's version
            stale.unlink()
        written.append(Path(shutil.copyfile(wheel, folder / WHEELS / wheel.name)))
        files = {
            "Dockerfile": dockerfile(deployment, options),
            "requirements.txt": requirements_txt(options, wheel, model_requirements),
        }
    elif fmt == "k8s":
        files = {f"{name}-k8s.yaml": yaml.safe_dump_all(k8s_manifests(deployment, options), sort_keys=False)}
    else:
        files = {f"{name}-kserve.yaml": yaml.safe_dump(kserve_manifest(deployment, options), sort_keys=False)}
    for filename, text in files.items():
        path = folder / filename
        path.write_text(text)
        written.append(path)
    return written
