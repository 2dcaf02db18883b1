"""Export for Kubernetes: manifests valid against the Kubernetes schemas (offline), probes on the health
endpoints, canary share in KServe, a Dockerfile installing the models' requirements."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import jsonschema
import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import schema_contents
from referencing import Registry, Resource
from typer.testing import CliRunner

from modelyard.cli.app import app as cli_app
from modelyard.config import Settings
from modelyard.domain.serving import Deployment, VariantMode, VariantSpec
from modelyard.errors import InvalidInput
from modelyard.sdk.backends.local import LocalBackend, local_backend
from modelyard.sdk.export import export_deployment
from modelyard.sdk.serving import build_app
from modelyard.serving import serving
from modelyard.serving.manifests import ExportOptions, k8s_name
from modelyard.serving.pinned import pin_variant
from tests._subprocess import store_env
from tests.serving._deployed import classifier, register

K8S_VERSION = "1.33"
OPTIONS = ExportOptions(image="registry.example/churn:1", replicas=2, namespace="ml")


@pytest.fixture
def backend(settings: Settings) -> LocalBackend:
    register(settings, "churn", [classifier(0.0), classifier(0.5)], champion=1)
    return local_backend(settings)


@pytest.fixture
def with_canary(backend: LocalBackend) -> Deployment:
    return backend.deployments.deploy(
        "Churn_API",
        [
            VariantSpec(uri="models:/churn@champion"),
            VariantSpec(uri="models:/churn/2", mode=VariantMode.CANARY, weight=15),
        ],
    )


def validate_definition(data: Any, definition: str) -> None:
    """Validate ``data`` against one definition of the bundled strict Kubernetes schemas."""
    folder = f"kubernetes-json-schema/v{K8S_VERSION}.0-local-strict"
    schema = schema_contents(f"{folder}/{definition}.json", K8S_VERSION)
    defs = schema_contents(f"{folder}/_definitions.json", K8S_VERSION)
    registry = Resource.from_contents(defs) @ (Resource.from_contents(schema) @ Registry())  # type: ignore[var-annotated]
    jsonschema.Draft202012Validator(schema, registry=registry).validate(data)


def test_k8s_deployment_and_service_validate(backend: LocalBackend, with_canary: Deployment, tmp_path: Path) -> None:
    [path] = export_deployment(backend, "Churn_API", "k8s", tmp_path, OPTIONS)

    docs = list(yaml.safe_load_all(path.read_text()))

    assert path.name == "churn-api-k8s.yaml"
    assert [d["kind"] for d in docs] == ["Deployment", "Service"]
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    workload, service = docs
    assert workload["metadata"]["namespace"] == "ml" and workload["spec"]["replicas"] == 2
    [container] = workload["spec"]["template"]["spec"]["containers"]
    assert container["args"][:2] == ["serve", "Churn_API"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert service["spec"]["selector"] == workload["spec"]["template"]["metadata"]["labels"]
    assert workload["metadata"]["annotations"]["modelyard.io/variants"] == (
        "primary=churn/1 (primary), canary=churn/2 (canary)"
    )


def test_a_broken_manifest_is_caught_by_the_validator(
    backend: LocalBackend, with_canary: Deployment, tmp_path: Path
) -> None:
    [path] = export_deployment(backend, "Churn_API", "k8s", tmp_path, OPTIONS)
    workload = next(yaml.safe_load_all(path.read_text()))
    workload["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["port"] = [8080]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(workload, K8S_VERSION, strict=True)


def _kserve(backend: LocalBackend, name: str, tmp_path: Path) -> dict[str, Any]:
    [path] = export_deployment(backend, name, "kserve", tmp_path, OPTIONS)
    isvc: dict[str, Any] = yaml.safe_load(path.read_text())
    assert (isvc["apiVersion"], isvc["kind"]) == ("serving.kserve.io/v1beta1", "InferenceService")
    # KServe's CRD is not in the bundle: its Kubernetes parts are checked against their own schemas.
    validate_definition(isvc["metadata"], "objectmeta-meta-v1")
    [container] = isvc["spec"]["predictor"]["containers"]
    validate_definition(container, "container-v1")
    assert container["name"] == "kserve-container" and container["ports"][0]["containerPort"] == 8080
    # a custom container declares the Open Inference Protocol to KServe in its environment
    assert {"name": "PROTOCOL", "value": "v2"} in container["env"]
    return isvc


def test_kserve_splits_once_a_20_percent_canary_is_canary_traffic_percent_20(
    backend: LocalBackend, tmp_path: Path
) -> None:
    backend.deployments.deploy("churn-api", [VariantSpec(uri="models:/churn/1")])
    alone = _kserve(backend, "churn-api", tmp_path / "alone")["spec"]["predictor"]
    assert "canaryTrafficPercent" not in alone and alone["minReplicas"] == 2  # the latest revision takes all
    assert alone["containers"][0]["args"][-2:] == ["--variant", "primary"]

    backend.deployments.deploy(
        "churn-api",
        [VariantSpec(uri="models:/churn/1"), VariantSpec(uri="models:/churn/2", mode=VariantMode.CANARY, weight=20)],
    )
    canary = _kserve(backend, "churn-api", tmp_path / "canary")["spec"]["predictor"]
    assert canary["canaryTrafficPercent"] == 20
    # the new revision answers with the canary only: the server does not split KServe's 20 % again
    assert canary["containers"][0]["args"][-2:] == ["--variant", "canary"]

    backend.deployments.set_traffic("churn-api", {"canary": 0})
    stopped = _kserve(backend, "churn-api", tmp_path / "stopped")["spec"]["predictor"]
    assert stopped["canaryTrafficPercent"] == 0  # KServe's rollback: all traffic to the previous revision

    backend.deployments.set_traffic("churn-api", {"canary": 12.5})
    with pytest.raises(InvalidInput, match="whole number"):
        export_deployment(backend, "churn-api", "kserve", tmp_path, OPTIONS)
    backend.deployments.deploy(
        "churn-api",
        [
            VariantSpec(uri="models:/churn/1"),
            VariantSpec(uri="models:/churn/2", mode=VariantMode.CANARY, weight=10, name="c1"),
            VariantSpec(uri="models:/churn/2", mode=VariantMode.CANARY, weight=10, name="c2"),
        ],
    )
    with pytest.raises(InvalidInput, match="2 canaries; KServe splits between two revisions only"):
        export_deployment(backend, "churn-api", "kserve", tmp_path, OPTIONS)


def test_a_pinned_server_gives_its_variant_all_traffic_and_follows_a_promotion(backend: LocalBackend) -> None:
    """What each KServe revision runs (``serve --variant``): one variant, not the deployment's split."""
    backend.deployments.deploy(
        "churn-api",
        [VariantSpec(uri="models:/churn/1"), VariantSpec(uri="models:/churn/2", mode=VariantMode.CANARY, weight=20)],
    )
    served = {}
    for variant in ("primary", "canary"):
        server = build_app(backend, ["churn-api"], variant=variant)
        with serving(server.app) as running, httpx.Client(base_url=running.url) as client:
            answers = [
                client.post("/v1/deployments/churn-api/predict", json={"records": [{"x1": 0.3, "x2": 1.0}]})
                for _ in range(60)
            ]
        assert {a.status_code for a in answers} == {200}
        served[variant] = {a.headers["x-modelyard-model-version"] for a in answers}
    assert served == {"primary": {"churn/1"}, "canary": {"churn/2"}}

    promoted = backend.deployments.promote("churn-api", "canary")
    assert pin_variant(promoted, "canary") == promoted  # gone: the deployment as stored (churn/2 alone)
    assert [v.model_version for v in pin_variant(promoted, "primary").variants] == ["churn/2"]


def test_dockerfile_installs_modelyard_and_the_models_requirements(
    backend: LocalBackend, with_canary: Deployment, tmp_path: Path
) -> None:
    paths = export_deployment(backend, "Churn_API", "dockerfile", tmp_path, OPTIONS)

    [wheel] = (tmp_path / "wheels").glob("modelyard-*.whl")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in paths) == sorted(
        ["Dockerfile", "requirements.txt", f"wheels/{wheel.name}"]
    )
    requirements = [r for r in (tmp_path / "requirements.txt").read_text().splitlines() if not r.startswith("#")]
    assert requirements[0] == f"./wheels/{wheel.name}[postgres,s3]"  # no index holds modelyard: the context does
    assert any(r.startswith("scikit-learn==") for r in requirements)
    assert all("==" in r for r in requirements[1:]), requirements  # everything else pinned
    assert len(requirements) == len(set(requirements))
    lines = [line for line in (tmp_path / "Dockerfile").read_text().splitlines() if line and line[0] != "#"]
    assert lines[0].startswith("FROM python:3.11")
    assert "COPY requirements.txt ./" in lines and "COPY wheels/ ./wheels/" in lines
    assert "RUN pip install -r requirements.txt \\" in lines and 'ENTRYPOINT ["modelyard"]' in lines
    assert "USER 10001" in lines
    assert lines[-1] == 'CMD ["serve", "Churn_API", "--host", "0.0.0.0", "--port", "8080"]'


def test_cli_export_and_its_errors(
    backend: LocalBackend, with_canary: Deployment, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in store_env(settings).items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    done = runner.invoke(cli_app, ["deployments", "export", "Churn_API", "--format", "k8s", "--out", str(tmp_path)])
    assert done.exit_code == 0, done.output
    assert (tmp_path / "churn-api-k8s.yaml").is_file()

    bad = runner.invoke(cli_app, ["deployments", "export", "Churn_API", "--format", "helm", "--out", str(tmp_path)])
    assert isinstance(bad.exception, InvalidInput) and "choose one of k8s, kserve, dockerfile" in str(bad.exception)
    sized = ["deployments", "export", "Churn_API", "--format", "kserve", "--out", str(tmp_path), "--cpu-limit", "3"]
    done = runner.invoke(cli_app, [*sized, "--memory-request", "1Gi"])
    assert done.exit_code == 0, done.output
    [container] = yaml.safe_load((tmp_path / "churn-api-kserve.yaml").read_text())["spec"]["predictor"]["containers"]
    assert container["resources"]["limits"]["cpu"] == "3" and container["resources"]["requests"]["memory"] == "1Gi"
    bad = runner.invoke(cli_app, [*sized, "--memory-limit", "lots"])
    assert isinstance(bad.exception, InvalidInput) and "--memory-limit 'lots' is not a Kubernetes quantity" in str(
        bad.exception
    )


def test_names_become_dns_labels() -> None:
    assert k8s_name("Fraud.Model_v2") == "fraud-model-v2"
    assert len(k8s_name("x" * 100)) == 63
    with pytest.raises(InvalidInput, match="no letters or digits"):
        k8s_name("__")
    with pytest.raises(InvalidInput, match="--replicas"):
        ExportOptions(image="i", replicas=0)


_RESTRICTED_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}


def restricted_violations(pod: dict[str, Any]) -> list[str]:
    """What breaks the *restricted* Pod Security Standard."""
    # the rules of kubernetes.io/docs/concepts/security/pod-security-standards, "Restricted"
    problems = []
    pod_context = pod.get("securityContext", {})
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(key):
            problems.append(key)
    for volume in pod.get("volumes", []):
        kinds = set(volume) - {"name"}
        if not kinds <= _RESTRICTED_VOLUMES:
            problems.append(f"volume {volume['name']}: {kinds}")
    for c in pod["containers"]:
        context = c.get("securityContext", {})
        if context.get("privileged"):
            problems.append(f"{c['name']}: privileged")
        if context.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{c['name']}: allowPrivilegeEscalation is not false")
        if not context.get("runAsNonRoot", pod_context.get("runAsNonRoot")):
            problems.append(f"{c['name']}: runAsNonRoot is not true")
        if context.get("runAsUser", pod_context.get("runAsUser")) == 0:
            problems.append(f"{c['name']}: runs as uid 0")
        seccomp = context.get("seccompProfile", pod_context.get("seccompProfile", {}))
        if seccomp.get("type") not in ("RuntimeDefault", "Localhost"):
            problems.append(f"{c['name']}: no RuntimeDefault/Localhost seccomp profile")
        capabilities = context.get("capabilities", {})
        if "ALL" not in capabilities.get("drop", []) or set(capabilities.get("add", [])) - {"NET_BIND_SERVICE"}:
            problems.append(f"{c['name']}: capabilities are not dropped")
    return problems


def test_pods_meet_the_restricted_profile_with_limits_and_a_read_only_root(
    backend: LocalBackend, with_canary: Deployment, tmp_path: Path
) -> None:
    """Issue 15.8: securityContext (restricted Pod Security Standard), resource limits, writable mounts."""
    [path] = export_deployment(backend, "Churn_API", "k8s", tmp_path, OPTIONS)
    workload = next(yaml.safe_load_all(path.read_text()))
    kubernetes_validate.validate(workload, K8S_VERSION, strict=True)
    pod = workload["spec"]["template"]["spec"]
    assert restricted_violations(pod) == []
    [container] = pod["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["resources"]["limits"] == {"cpu": "2", "memory": "2Gi"}
    assert {m["mountPath"] for m in container["volumeMounts"]} == {"/tmp", "/home/modelyard/.modelyard"}

    isvc = _kserve(backend, "Churn_API", tmp_path / "kserve")
    predictor = isvc["spec"]["predictor"]
    validate_definition(
        {k: v for k, v in predictor.items() if k in ("containers", "volumes", "securityContext")}, "podspec-v1"
    )
    assert restricted_violations(predictor) == []

    sized = ExportOptions(image="i", cpu_request="250m", memory_request="1Gi", cpu_limit="4", memory_limit="8Gi")
    [resized] = export_deployment(backend, "Churn_API", "k8s", tmp_path / "sized", sized)
    [big] = next(yaml.safe_load_all(resized.read_text()))["spec"]["template"]["spec"]["containers"]
    assert big["resources"] == {"requests": {"cpu": "250m", "memory": "1Gi"}, "limits": {"cpu": "4", "memory": "8Gi"}}
    with pytest.raises(InvalidInput, match="--memory-limit '2 GB' is not a Kubernetes quantity"):
        ExportOptions(image="i", memory_limit="2 GB")

    loosened = dict(pod, containers=[dict(container, securityContext={"runAsNonRoot": True})])
    assert "modelyard: allowPrivilegeEscalation is not false" in restricted_violations(loosened)  # the check bites


def test_dockerfile_healthcheck_and_a_base_image_pinned_by_digest(
    backend: LocalBackend, with_canary: Deployment, tmp_path: Path
) -> None:
    pinned = "python:3.11-slim@sha256:" + "0" * 64
    options = ExportOptions(image="registry.example/churn:1", base_image=pinned)
    export_deployment(backend, "Churn_API", "dockerfile", tmp_path, options)
    text = (tmp_path / "Dockerfile").read_text()
    assert f"FROM {pinned}\n" in text
    assert "HEALTHCHECK " in text and "/v2/health/ready" in text
    with pytest.raises(InvalidInput, match="not an image reference"):
        ExportOptions(image="x", base_image="python:3.11 slim")
