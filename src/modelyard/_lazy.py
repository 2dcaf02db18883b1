"""Lazy package exports (PEP 562) declared once, as the imports a type checker reads.

A package's public names are written as ordinary imports inside ``if TYPE_CHECKING:`` — mypy and
editors see real imports — and ``lazy_exports`` reads that block from the package's own source
to learn where each name lives, so nothing is listed twice. At run time a name's module loads
on first access: ``modelyard runs list`` does not pay for pandas because ``modelyard.models``
happens to export a pandas-backed helper.

Usage, at the end of a package ``__init__``::

    if TYPE_CHECKING:
        from modelyard.models.predictor import Predictor as Predictor

    __getattr__ = lazy_exports(__name__, __file__)
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def declared_exports(source: str) -> dict[str, tuple[str, str]]:
    """Exported name -> (module, attribute) of each ``from X import a as b`` under ``if TYPE_CHECKING:``."""
    exports: dict[str, tuple[str, str]] = {}
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
            continue
        for statement in node.body:
            if isinstance(statement, ast.ImportFrom) and statement.module and statement.level == 0:
                for alias in statement.names:
                    exports[alias.asname or alias.name] = (statement.module, alias.name)
    return exports


def lazy_exports(package: str, init_file: str) -> Callable[[str], Any]:
    """The ``__getattr__`` of ``package``: loads a declared name's module on first access, then
    caches the value in the package's namespace so later lookups never come back here."""
    exports = declared_exports(Path(init_file).read_text(encoding="utf-8"))
    namespace = vars(sys.modules[package])

    def __getattr__(name: str) -> Any:
        target = exports.get(name)
        if target is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module_name, attribute = target
        module = importlib.import_module(module_name)
        try:
            value = getattr(module, attribute)
        except AttributeError:  # `from package import submodule`: a submodule not imported yet
            value = importlib.import_module(f"{module_name}.{attribute}")
        namespace[name] = value
        return value

    return __getattr__
