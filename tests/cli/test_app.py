"""The root command: its help lists every command without importing any of them."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from modelyard.cli.app import _COMMANDS

_HELP_THEN_MODULES = """
import sys
from modelyard.cli.app import main
try:
    main(["--help"])
except SystemExit:
    pass
print(",".join(sorted(m for m in sys.modules if m.startswith("modelyard.cli.") or m in ("pandas", "sqlalchemy"))))
"""


def test_help_lists_commands_without_importing_them() -> None:
    done = subprocess.run([sys.executable, "-c", _HELP_THEN_MODULES], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    *help_lines, modules = done.stdout.strip().splitlines()
    assert set(modules.split(",")) <= {"modelyard.cli._output", "modelyard.cli.app"}
    listed = "\n".join(help_lines)
    for name in _COMMANDS:
        assert name in listed


def test_each_summary_is_the_commands_own_first_help_line() -> None:
    for name, (module, attribute, summary) in _COMMANDS.items():
        target = getattr(importlib.import_module(module), attribute)
        own = target.info.help if isinstance(target, typer.Typer) else target.__doc__
        assert isinstance(own, str), name
        assert own.strip().splitlines()[0] == summary, name


def test_flags_show_no_type_and_percent_signs_are_single() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "modelyard", "deployments", "deploy", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "160"},
    )
    assert done.returncode == 0, done.stderr
    assert "<bool>" not in done.stdout and "%%" not in done.stdout
    assert "Traffic % of each --canary" in done.stdout


def test_version_prints_the_installed_distributions_version() -> None:
    from importlib.metadata import version

    import modelyard

    assert modelyard.__version__ == version("modelyard")  # `modelyard version` prints __version__


_LIST_THEN_MODULES = """
import sys
from modelyard.cli.app import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print("loaded:" + ",".join(sorted(m for m in ("pandas", "numpy", "pyarrow", "httpx") if m in sys.modules)))
"""


@pytest.mark.parametrize("command", [["runs", "list"], ["models", "list"], ["experiments", "list"]])
def test_lists_on_the_embedded_store_load_no_dataframe_or_http_library(tmp_path: Path, command: list[str]) -> None:
    # pandas, numpy, pyarrow and httpx are most of a command's start-up; these lists need none of them (the
    # REST backend loads only for a server URL; package names load on use: modelyard._lazy).
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELYARD_")}
    env["MODELYARD_HOME"] = str(tmp_path)
    created = subprocess.run(
        [sys.executable, "-m", "modelyard", "experiments", "create", "e"], capture_output=True, text=True, env=env
    )
    assert created.returncode == 0, created.stderr
    done = subprocess.run(
        [sys.executable, "-c", _LIST_THEN_MODULES, *command], capture_output=True, text=True, timeout=60, env=env
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "loaded:"
