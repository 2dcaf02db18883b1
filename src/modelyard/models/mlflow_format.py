"""What modelyard reads of MLflow's model format: the flavor an ``MLmodel`` file names.

MLflow models (uploaded by the mlflow client, or imported from an MLflow store) are recorded as
logged models with the flavor ``mlflow.<flavor>`` (``mlflow.sklearn``), naming the library that
loads them; ``python_function`` is every MLflow model's generic loader, so a more specific
flavor wins when the file lists one.
"""

from __future__ import annotations

import yaml

MLMODEL_FILE = "MLmodel"
MLFLOW_FLAVOR_PREFIX = "mlflow."
_GENERIC = "python_function"


def mlflow_flavor(mlmodel_text: bytes | str | None) -> str:
    """``mlflow.<flavor>`` from an ``MLmodel`` file's text (``mlflow.pyfunc`` when unreadable)."""
    flavors: object = None
    if mlmodel_text:
        try:
            loaded = yaml.safe_load(mlmodel_text)
        except yaml.YAMLError:
            loaded = None
        flavors = loaded.get("flavors") if isinstance(loaded, dict) else None
    named = [str(f) for f in flavors if f != _GENERIC] if isinstance(flavors, dict) else []
    return f"{MLFLOW_FLAVOR_PREFIX}{named[0] if named else 'pyfunc'}"[:64]
