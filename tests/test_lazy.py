"""Lazy package exports: declared once as TYPE_CHECKING imports, loaded on first access."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from modelyard._lazy import declared_exports

_INIT = """
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from json import dumps as dumps
    from json import loads as parse
    from email import message as message

import os
"""


def test_declared_exports_reads_only_the_type_checking_block() -> None:
    assert declared_exports(_INIT) == {
        "dumps": ("json", "dumps"),
        "parse": ("json", "loads"),
        "message": ("email", "message"),
    }


def test_a_name_loads_on_first_access_and_is_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "lazypkg"
    package.mkdir()
    (package / "__init__.py").write_text(
        _INIT + "from modelyard._lazy import lazy_exports\n__getattr__ = lazy_exports(__name__, __file__)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import lazypkg

    try:
        assert "parse" not in vars(lazypkg)
        import json

        assert lazypkg.parse is json.loads
        assert vars(lazypkg)["parse"] is json.loads  # cached: the module's __getattr__ is not asked again
        assert lazypkg.message.__name__ == "email.message"  # a submodule not imported by its package yet
        with pytest.raises(AttributeError, match="'lazypkg' has no attribute 'nope'"):
            _ = lazypkg.nope
    finally:
        sys.modules.pop("lazypkg", None)


@pytest.mark.parametrize(
    "package",
    ["modelyard", "modelyard.models", "modelyard.data", "modelyard.serving", "modelyard.monitoring",
     "modelyard.pipelines", "modelyard.governance", "modelyard.registry", "modelyard.tracking",
     "modelyard.explain", "modelyard.sdk", "modelyard.features"],
)  # fmt: skip
def test_every_declared_name_of_a_lazy_package_resolves(package: str) -> None:
    module = __import__(package, fromlist=["__all__"])
    assert module.__file__ is not None
    for name in declared_exports(Path(module.__file__).read_text(encoding="utf-8")):
        assert getattr(module, name) is not None, name
