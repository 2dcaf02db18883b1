"""Pickle-based saving shared by the scikit-learn and pyfunc flavors, and its trust caveat.

Unpickling runs code named by the file: load pickled models only from directories you trust. The
directory digest detects files changed after saving, not a malicious author. Formats that are data
only (XGBoost JSON, LightGBM text, ONNX) do not have this problem.

Where a class lives decides whether a pickle can be loaded elsewhere. Pickle stores a class by
reference (``module.Class``), so a model whose class is defined in the user's own code (a training
script, a notebook, a test module such as ``tests/models/test_flavors.py``) loads only where that
file is importable under the same name, which a server or another machine usually is not.
``user_code_by_value`` therefore has cloudpickle store the class itself when its module is not
part of an installed library or the standard library; classes from installed libraries stay
references, matched by the model's ``requirements.txt``.
"""

from __future__ import annotations

import pickle
import sys
import sysconfig
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from modelyard.errors import BackendUnavailable, InvalidInput


def dump_or_refuse(dump: Callable[[], None], obj: object) -> None:
    """Run ``dump``; an object that cannot be pickled becomes ``InvalidInput`` saying so."""
    try:
        dump()
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise InvalidInput(
            f"the {type(obj).__name__} model cannot be pickled ({exc}); lambdas and local classes "
            "need cloudpickle (pip install cloudpickle) and the pyfunc flavor",
        ) from exc


def load_or_explain(load: Callable[[], Any], file: Path) -> Any:
    """Run ``load``; a module the pickle names but this environment lacks is ``BackendUnavailable``."""
    try:
        return load()
    except ModuleNotFoundError as exc:
        raise BackendUnavailable(
            f"the model in {str(file)!r} needs the Python module {exc.name!r}, which is not "
            "installed; install the model's requirements.txt",
            module=exc.name,
        ) from exc


@contextmanager
def user_code_by_value(obj: object, cloudpickle: ModuleType) -> Iterator[bool]:
    """While open, cloudpickle stores ``obj``'s class by value if it is the user's own code.

    Yields whether it does. The registration is global to cloudpickle, so it is undone on exit
    (unless the caller had registered the module already) to leave other pickles unaffected.
    """
    module = sys.modules.get(type(obj).__module__)
    if module is None or module.__name__ == "__main__" or not _is_user_code(module):
        yield False  # __main__ is stored by value by cloudpickle already
        return
    registered = module.__name__ in cloudpickle.list_registry_pickle_by_value()
    if not registered:
        cloudpickle.register_pickle_by_value(module)
    try:
        yield True
    finally:
        if not registered:
            cloudpickle.unregister_pickle_by_value(module)


def _is_user_code(module: ModuleType) -> bool:
    """Whether ``module`` is a file outside site-packages and the standard library."""
    file = getattr(module, "__file__", None)
    top = module.__name__.partition(".")[0]
    # modelyard itself is importable wherever a model is loaded, even from an editable install
    if file is None or top in sys.stdlib_module_names or top == "modelyard" or not file.endswith(".py"):
        return False
    location = Path(file).resolve()
    paths = sysconfig.get_paths()
    library_roots = {Path(paths[key]).resolve() for key in ("purelib", "platlib", "stdlib", "platstdlib")}
    return not any(location.is_relative_to(root) for root in library_roots)
