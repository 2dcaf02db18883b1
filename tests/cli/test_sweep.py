"""Every command, given no arguments, a bad one, or a store that does not exist: one line on
stderr, no traceback, and an exit code the README's CLI section documents.

Runs in-process (``main(argv)``), as a subprocess per case would take minutes for ~300 cases; the
commands' own tests run the real ``modelyard`` script.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer.main
from typer import _click
from typer.core import TyperArgument as Argument
from typer.core import TyperGroup as Group
from typer.core import TyperOption as Option

from modelyard import errors
from modelyard.cli.app import _COMMANDS, app, main

_README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
_CLI_SECTION = _README[_README.index("## CLI") :].split("\n## ", 1)[0]
DOCUMENTED = {int(m) for m in re.findall(r"^\| (\d+) \|", _CLI_SECTION, re.MULTILINE)}  # the exit code table
# Commands a missing store does not stop: they write (and create the store, saying so), or they
# do not read the store at all.
WRITERS = {
    "experiments create", "models register", "users create", "pipelines run", "pipelines schedule add",
    "db upgrade", "ci init", "version",
}  # fmt: skip


def _leaves(
    group: Group, ctx: _click.Context, prefix: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], _click.Command]]:
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        path = (*prefix, name)
        if isinstance(command, Group):
            yield path, command
            yield from _leaves(command, _click.Context(command, parent=ctx, info_name=name), path)
        else:
            yield path, command


def _commands() -> list[tuple[tuple[str, ...], _click.Command]]:
    root = typer.main.get_command(app)
    assert isinstance(root, Group)
    return list(_leaves(root, _click.Context(root, info_name="modelyard"), ()))


def _filled(command: _click.Command) -> list[str]:
    """Placeholder values for the command's required arguments and options."""
    args: list[str] = []
    for param in command.params:
        if isinstance(param, Argument) and param.required:
            args.append("x")
        elif isinstance(param, Option) and param.required:
            args += [param.opts[0], "x"]
    return args


@pytest.fixture
def missing_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key in ("MODELYARD_STORE_URI", "MODELYARD_ARTIFACT_URI", "MODELYARD_RAY_ADDRESS"):
        monkeypatch.delenv(key, raising=False)
    home = tmp_path / "typo" / "home"
    monkeypatch.setenv("MODELYARD_HOME", str(home))
    monkeypatch.setenv("MODELYARD_CAPTURE_ENVIRONMENT", "false")
    monkeypatch.chdir(tmp_path)  # `ci init` writes its files here
    return home


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0) if not isinstance(exc.code, str) else 1
    return code, capsys.readouterr().err


def _check(argv: list[str], code: int, err: str) -> None:
    assert code in DOCUMENTED, (argv, code, err)
    assert "Traceback" not in err, (argv, err)
    assert len(err.strip().splitlines()) <= 1, (argv, err)
    if code not in (0, 3):  # 3: a change awaiting approval, reported on stdout
        assert err.startswith("error: ") or err.strip() == "aborted", (argv, err)


def test_every_error_class_exit_code_is_in_the_readme_table() -> None:
    codes = {c.exit_code for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.ModelyardError)}
    assert {0, 1, 2, 130} | codes <= DOCUMENTED


def test_the_sweep_covers_every_command() -> None:
    names = {path[0] for path, _ in _commands()}
    assert set(_COMMANDS) <= names and "version" in names
    assert len(_commands()) > 80


def test_no_arguments_bad_arguments_and_a_missing_store(
    missing_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for path, command in _commands():
        argv = list(path)
        if isinstance(command, Group):
            code, err = _run(argv, capsys)  # a bare group prints its help
            assert (code, err.strip()) == (0, ""), (argv, err)
            continue
        if command.params and any(p.required for p in command.params):
            code, err = _run(argv, capsys)
            _check(argv, code, err)
            assert code == 2 and "Missing" in err, (argv, err)
        code, err = _run([*argv, *_filled(command), "--no-such-option"], capsys)
        _check(argv, code, err)
        assert code == 2 and "No such option" in err, (argv, err)
        if " ".join(path) in WRITERS:
            continue
        code, err = _run([*argv, *_filled(command)], capsys)
        _check(argv, code, err)
        assert code in (2, 4), (argv, code, err)  # bad placeholder values, or no store
        assert not missing_store.exists(), (argv, "created a store")


def test_writing_commands_on_a_missing_store_create_it_and_say_where(
    missing_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _run(["experiments", "create", "churn"], capsys)
    assert code == 0 and err.count("created a new modelyard store at") == 1 and str(missing_store) in err
    code, err = _run(["models", "register", "runs:/abcd1234/model", "churn"], capsys)
    _check(["models", "register"], code, err)
    assert code == 4 and "no run with id" in err
