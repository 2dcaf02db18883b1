"""README.md runs as written: every fenced ``python`` and ``bash`` block is executed.

Blocks run in a fresh, empty ``MODELYARD_HOME`` per ``## `` section, in order, sharing state within
the section: Python blocks share one namespace (run in this process), shell blocks run with
``bash -euo pipefail`` in the same folder, with ``modelyard`` on the ``PATH`` and ``.venv`` linked
there (the Quickstart types ``.venv/bin/modelyard``). Two markers, each on the line(s) right above a
fence:

- ``<!-- readme-test: skip (why) -->`` skips the block, with that reason;
- ``<!-- readme-test: setup`` ... ``-->`` holds Python run before the block, unseen on the page
  (data a block assumes; ``os.environ`` values it sets reach the shell blocks, e.g. ``$RUN_ID``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from modelyard.sdk import client as client_module
from modelyard.sdk import fluent
from modelyard.sdk.backends import local

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
LANGUAGES = {"python": "python", "bash": "bash", "sh": "bash", "shell": "bash"}
_SKIP = re.compile(r"^<!--\s*readme-test:\s*skip\s*\((?P<why>.*)\)\s*-->\s*$")
_SETUP = re.compile(r"^<!--\s*readme-test:\s*setup\s*$")


@dataclass
class Block:
    language: str
    code: str
    line: int
    skip: str | None = None
    setup: str = ""


@dataclass
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)


def sections(text: str) -> list[Section]:
    """The README's ``## `` sections and their runnable blocks, with their markers."""
    found: list[Section] = [Section("(top)")]
    lines = text.splitlines()
    skip: str | None = None
    setup: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("## "):
            found.append(Section(line[3:].strip()))
        elif (match := _SKIP.match(line)) is not None:
            skip = match["why"]
        elif _SETUP.match(line):
            index += 1
            while lines[index].strip() != "-->":
                setup.append(lines[index])
                index += 1
        elif line.startswith("```"):
            language = line[3:].strip()
            start = index + 1
            index += 1
            while not lines[index].startswith("```"):
                index += 1
            if language in LANGUAGES:
                code = "\n".join(lines[start:index]) + "\n"
                found[-1].blocks.append(Block(LANGUAGES[language], code, start, skip, "\n".join(setup) + "\n"))
            skip, setup = None, []
        elif line.strip():
            skip, setup = None, []  # a marker belongs to the fence right below it
        index += 1
    return [s for s in found if s.blocks]


SECTIONS = sections(README.read_text(encoding="utf-8"))


def test_the_harness_finds_the_blocks_and_their_markers() -> None:
    parsed = sections(
        "## A\n<!-- readme-test: skip (needs a server) -->\n```bash\nserve\n```\n"
        "<!-- readme-test: setup\nx = 1\n-->\n```python\nprint(x)\n```\n```yaml\nk: v\n```\n"
        "## B\n<!-- readme-test: skip (stale) -->\n\ntext\n```sh\necho hi\n```\n"
    )
    assert [(s.title, [(b.language, b.skip, b.setup.strip()) for b in s.blocks]) for s in parsed] == [
        ("A", [("bash", "needs a server", ""), ("python", None, "x = 1")]),
        ("B", [("bash", None, "")]),  # the skip marker was not right above the fence
    ]
    assert len(SECTIONS) >= 8


def _reset_sdk() -> None:
    while fluent.active_run() is not None:
        fluent.end_run()
    for writer in list(client_module._writers.values()):
        writer.close()
    client_module._writers.clear()
    for backend in list(local._backends.values()):
        backend.db.dispose()
    local._backends.clear()
    for name, value in (("_settings_overrides", {}), ("_client", None), ("_active", []), ("_last", None)):
        setattr(fluent, name, value)
    fluent._experiment_id = None


@pytest.mark.slow
@pytest.mark.parametrize("section", SECTIONS, ids=[s.title for s in SECTIONS])
def test_readme_section_runs_as_written(section: Section, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runnable = [b for b in section.blocks if b.skip is None]
    if not runnable:
        pytest.skip("; ".join(sorted({b.skip or "" for b in section.blocks})))
    for key in [k for k in os.environ if k.startswith("MODELYARD_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("MODELYARD_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MODELYARD_CAPTURE_ENVIRONMENT", "false")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    pythonpath = [str(REPO / "src"), str(REPO), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in pythonpath if p))
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".venv").symlink_to(Path(sys.executable).parent.parent)
    monkeypatch.syspath_prepend(str(tmp_path))  # modules a setup writes here are importable
    _reset_sdk()
    namespace: dict[str, Any] = {"__name__": "__readme__"}
    try:
        for block in runnable:
            where = f"README.md:{block.line}"
            if block.setup.strip():
                exec(compile(block.setup, f"{where} (setup)", "exec"), namespace)
            if block.language == "python":
                exec(compile(block.code, where, "exec"), namespace)
                continue
            done = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", block.code],
                capture_output=True,
                text=True,
                timeout=600,
                env=dict(os.environ),
            )
            assert done.returncode == 0, f"{where} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    finally:
        _reset_sdk()
