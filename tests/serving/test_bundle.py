"""Issue 15.1: an exported build context installs on a fresh machine. Its Python environment is built
the way the Dockerfile builds it (``pip install -r requirements.txt`` in a fresh virtualenv, from the
context alone plus the package index), and the ``modelyard serve`` it installed answers predictions."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
import zipfile
from importlib import metadata
from pathlib import Path

import httpx
import pytest
from packaging.requirements import Requirement

from modelyard.config import Settings
from modelyard.domain.serving import VariantSpec
from modelyard.sdk.backends.local import local_backend
from modelyard.sdk.export import export_deployment
from modelyard.serving.bundle import (
    modelyard_wheel,
    pinned_requirements,
    source_root,
    wheel_from_installed,
    wheel_requirements,
)
from modelyard.serving.manifests import ExportOptions
from modelyard.serving.runner import wait_ready
from tests._subprocess import child_env, free_port, stop_group
from tests.serving._deployed import FEATURES, classifier, register

OPTIONS = ExportOptions(image="registry.example/churn:1")
REQS = "requirements.txt"


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    """SQLite only: the store is not what this tests; the installed environment is."""
    return f"sqlite:///{tmp_path / 'store.db'}"


def _wheel_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return {n for n in archive.namelist() if ".dist-info/" not in n}


def test_the_wheel_is_the_running_code_and_every_requirement_is_pinned() -> None:
    wheel = modelyard_wheel()
    root = source_root()
    assert root is not None  # the suite runs from a checkout: the wheel comes from its build backend
    names = _wheel_names(wheel)
    assert "modelyard/serving/bundle.py" in names and "modelyard/store/migrations/versions/__init__.py" not in {
        n for n in names if "__pycache__" in n
    }
    with zipfile.ZipFile(wheel) as archive:
        assert archive.read("modelyard/serving/bundle.py") == (root / "src/modelyard/serving/bundle.py").read_bytes()
    assert modelyard_wheel() == wheel  # unchanged code: the cached build

    version, requires = wheel_requirements(wheel)
    assert version == "0.1.0" and any(r.startswith("fastapi") for r in requires)
    pins = pinned_requirements(requires, ["postgres"], ["scikit-learn>=0.1", "numpy==0.0.1", "not a requirement!"])
    parsed = [Requirement(p) for p in pins[:-1]]
    by_name = {r.name.lower(): r for r in parsed}
    assert all(str(r.specifier).startswith("==") for r in parsed if r.name != "numpy"), pins
    assert "psycopg-binary" in by_name and "s3fs" not in by_name  # extras: only the asked ones
    assert "joblib" in by_name  # scikit-learn's own requirements are pinned too
    assert str(by_name["numpy"].specifier) == "==0.0.1"  # the model's requirement wins over the running pin
    assert pins[-1] == "not a requirement!"  # kept for pip to judge


def test_an_installed_distribution_is_zipped_back_into_the_same_wheel(tmp_path: Path) -> None:
    """Without a checkout (modelyard installed by pip), the wheel is rebuilt from the installed files."""
    wheel = modelyard_wheel()
    site = tmp_path / "site-packages"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)  # what pip unpacks
    info = next(site.glob("modelyard-*.dist-info"))
    (info / "INSTALLER").write_text("pip\n")
    (site / "modelyard" / "__pycache__").mkdir()
    (site / "modelyard" / "__pycache__" / "config.cpython-311.pyc").write_bytes(b"bytecode")
    assert source_root(site / "modelyard") is None

    out = tmp_path / "out"
    out.mkdir()
    rebuilt = wheel_from_installed(metadata.PathDistribution(info), site / "modelyard", out)

    assert rebuilt.name == wheel.name and _wheel_names(rebuilt) == _wheel_names(wheel)
    with zipfile.ZipFile(rebuilt) as archive:
        names = set(archive.namelist())
        assert archive.testzip() is None
        assert archive.read(f"{info.name}/METADATA") == (info / "METADATA").read_bytes()
        record = archive.read(f"{info.name}/RECORD").decode()
    assert f"{info.name}/INSTALLER" not in names and f"{info.name}/entry_points.txt" in names
    assert wheel_requirements(rebuilt) == wheel_requirements(wheel)
    assert len(record.splitlines()) == len(names)


@pytest.mark.slow
def test_the_exported_context_installs_in_a_fresh_virtualenv_and_serves(settings: Settings, tmp_path: Path) -> None:
    register(settings, "churn", [classifier(0.0)], champion=1)
    backend = local_backend(settings)
    backend.deployments.deploy("churn-api", [VariantSpec(uri="models:/churn@champion")])
    context = tmp_path / "context"
    export_deployment(backend, "churn-api", "dockerfile", context, OPTIONS)
    [wheel] = (context / "wheels").glob("modelyard-*.whl")
    requirements = (context / "requirements.txt").read_text().splitlines()
    assert f"./wheels/{wheel.name}[postgres,s3]" in requirements
    assert "modelyard" not in {Requirement(r).name for r in requirements if r and r[0] not in "#."}

    env_dir = tmp_path / "image-env"
    venv.EnvBuilder(with_pip=False, symlinks=True).create(env_dir)
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    # The Dockerfile's RUN, in the context folder (its WORKDIR), with the package index configured here.
    # This environment's pip installs into the fresh one (--python: no ensurepip, a faster resolver), and
    # skips compiling bytecode, which only changes how fast the first import is, not what is installed.
    installed = subprocess.run(
        [sys.executable, "-m", "pip", f"--python={env_dir}/bin/python", "install", "-q", "--no-compile", "-r", REQS],
        cwd=context,
        env=clean,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]

    port = free_port()
    env = {k: v for k, v in child_env(settings, user="server").items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    server = subprocess.Popen(
        [str(env_dir / "bin" / "modelyard"), "serve", "churn-api", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, timeout=120)
        answer = httpx.post(
            f"{url}/v1/deployments/churn-api/predict", json={"records": FEATURES.head(3).to_dict(orient="records")}
        )
        assert answer.status_code == 200, answer.text
        assert len(answer.json()["predictions"]) == 3
    finally:
        stop_group(server)
    assert server.stderr is not None
    server.stderr.close()

    # The installed environment is not a checkout: exporting from it rebuilds the wheel from the installed
    # distribution, with the same files and the same pins (it holds exactly the pinned versions).
    again = tmp_path / "again"
    exported = subprocess.run(
        [
            str(env_dir / "bin" / "modelyard"),
            "deployments",
            "export",
            "churn-api",
            "--format=dockerfile",
            f"--out={again}",
        ],
        env={**env, "XDG_CACHE_HOME": str(tmp_path / "cache")},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert exported.returncode == 0, exported.stderr
    [rebuilt] = (again / "wheels").glob("modelyard-*.whl")
    assert rebuilt.name == wheel.name and _wheel_names(rebuilt) == _wheel_names(wheel)
    assert (again / "requirements.txt").read_text() == (context / "requirements.txt").read_text()
    assert sys.version_info[:2] == tuple(int(p) for p in OPTIONS.python_version.split("."))
