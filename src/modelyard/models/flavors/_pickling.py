"""Pickle-based saving shared by the scikit-learn and pyfunc flavors, and its trust caveat.

Unpickling runs code named by the file: load pickled models only from directories you trust. The
directory digest detects files changed after saving, not a malicious author. Formats that are data
only (XGBoost JSON, LightGBM text, ONNX) do not have this problem.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path
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
