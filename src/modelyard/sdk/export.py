"""Exporting a stored deployment for Kubernetes: the deployment from the store, its models'
requirements from the registry, the files from ``modelyard.serving.manifests``.

This joins the serving and registry contexts (which never import each other), so it lives here.
"""

from __future__ import annotations

from pathlib import Path

from modelyard.models import folder_requirements
from modelyard.sdk.backends.local import LocalBackend
from modelyard.serving.manifests import ExportOptions, write_export


def model_requirements(backend: LocalBackend, name: str) -> list[str]:
    """The pip requirements recorded with every model version the deployment ``name`` pins."""
    deployment = backend.deployments.get(name)
    found: list[str] = []
    for variant in deployment.variants:
        local = backend.model_resolver.resolve(variant.uri).local_path
        found.extend(folder_requirements(local))  # a modelyard or an MLflow model folder
    return found


def export_deployment(
    backend: LocalBackend, name: str, fmt: str, out_dir: str | Path, options: ExportOptions
) -> list[Path]:
    """Write the ``fmt`` files (``k8s``, ``kserve`` or ``dockerfile``) for the deployment ``name``."""
    deployment = backend.deployments.get(name)
    requirements = model_requirements(backend, name) if fmt == "dockerfile" else []
    return write_export(deployment, fmt, out_dir, options, requirements)
