"""Export for Kubernetes: manifests valid against the Kubernetes schemas (offline), probes on the health
endpoints, canary share in KServe, a Dockerfile installing the models' requirements."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
from modelyard.serving.manifests import ExportOptions, k8s_name
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


def test_kserve_inference_service_carries_the_canary_share(
    backend: LocalBackend, with_canary: Deployment, tmp_path: Path
) -> None:
    [path] = export_deployment(backend, "Churn_API", "kserve", tmp_path, OPTIONS)
    isvc = yaml.safe_load(path.read_text())

    assert (isvc["apiVersion"], isvc["kind"]) == ("serving.kserve.io/v1beta1", "InferenceService")
    predictor = isvc["spec"]["predictor"]
    assert predictor["canaryTrafficPercent"] == 15 and predictor["minReplicas"] == 2
    # KServe's CRD is not in the bundle: its Kubernetes parts are checked against their own schemas.
    validate_definition(isvc["metadata"], "objectmeta-meta-v1")
    [container] = predictor["containers"]
    validate_definition(container, "container-v1")
    assert container["name"] == "kserve-container" and container["ports"][0]["containerPort"] == 8080

    backend.deployments.deploy("plain", [VariantSpec(uri="models:/churn/1")])
    [path] = export_deployment(backend, "plain", "kserve", tmp_path, OPTIONS)
    assert "canaryTrafficPercent" not in yaml.safe_load(path.read_text())["spec"]["predictor"]


def test_dockerfile_installs_modelyard_and_the_models_requirements(
    backend: LocalBackend, with_canary: Deployment, tmp_path: Path
) -> None:
    paths = export_deployment(backend, "Churn_API", "dockerfile", tmp_path, OPTIONS)

    assert sorted(p.name for p in paths) == ["Dockerfile", "requirements.txt"]
    requirements = (tmp_path / "requirements.txt").read_text().splitlines()
    assert requirements[0] == "modelyard[postgres,s3]"
    assert any(r.startswith("scikit-learn") for r in requirements)
    assert len(requirements) == len(set(requirements))
    lines = [line for line in (tmp_path / "Dockerfile").read_text().splitlines() if line and line[0] != "#"]
    assert lines[0].startswith("FROM python:3.11")
    assert "COPY requirements.txt ." in lines and 'ENTRYPOINT ["modelyard"]' in lines
    assert lines[-1] == 'CMD ["serve", "Churn_API", "--host", "0.0.0.0", "--port", "8080"]'


def test_cli_export_and_its_errors(
    backend: LocalBackend, with_canary: Deployment, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "MODELYARD_HOME": str(settings.home),
        "MODELYARD_STORE_URI": settings.store_uri,
        "MODELYARD_ARTIFACT_URI": settings.artifact_uri,
        "MODELYARD_USER": "tester",
        "MODELYARD_CAPTURE_ENVIRONMENT": "false",
    }.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    done = runner.invoke(cli_app, ["deployments", "export", "Churn_API", "--format", "k8s", "--out", str(tmp_path)])
    assert done.exit_code == 0, done.output
    assert (tmp_path / "churn-api-k8s.yaml").is_file()

    bad = runner.invoke(cli_app, ["deployments", "export", "Churn_API", "--format", "helm", "--out", str(tmp_path)])
    assert isinstance(bad.exception, InvalidInput) and "choose one of k8s, kserve, dockerfile" in str(bad.exception)


def test_names_become_dns_labels() -> None:
    assert k8s_name("Fraud.Model_v2") == "fraud-model-v2"
    assert len(k8s_name("x" * 100)) == 63
    with pytest.raises(InvalidInput, match="no letters or digits"):
        k8s_name("__")
    with pytest.raises(InvalidInput, match="--replicas"):
        ExportOptions(image="i", replicas=0)
